"""Alerts (issue #16): saved agreement filters delivered once per channel, by webhook,
e-mail, Apprise and Atom, on a schedule or after each crawl."""
