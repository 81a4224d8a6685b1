"""The web view (`veille web`): agreements, organisations, articles and sources as pages an
analyst can click through, every list also as JSON, CSV and Atom; feedback on verdicts."""
