// Keyboard use: "/" focuses the search, j/k move between rows, Enter opens the selected one.
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll(".row"));
  var at = -1;
  function select(i) {
    if (!rows.length) return;
    if (at >= 0) rows[at].classList.remove("selected");
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows[at].classList.add("selected");
    rows[at].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "/") { e.preventDefault(); document.getElementById("q").focus(); }
    else if (e.key === "j") select(at + 1);
    else if (e.key === "k") select(at - 1);
    else if (e.key === "Enter" && at >= 0) {
      var a = rows[at].querySelector("a");
      if (a) a.click();
    }
  });
})();
