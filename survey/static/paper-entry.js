/* Keyboard-speed entry of a paper ballot (admin → Paper ballots → Enter ballots).
 *
 * The form is a grid of radio buttons, one group per unit and item, and works without this
 * script. With it, a clerk enters a ballot with one key per item, in printed order:
 *   1, 2, 3 …  the choice marked (numbered left to right as printed; also the category),
 *   0          none marked (blank),
 *   * or x     two or more marked (invalid),
 *   - or /     the whole unit left empty (not rated): every item of the unit is blank,
 *   Backspace  back one item, ← → move, Enter saves when every item has an entry.
 * The cursor moves on by itself; the grid shows what was typed where it is on the paper.
 * Same-origin file: the CSP allows script from 'self' on this page only, never inline.
 */
(function () {
  "use strict";
  // after a ballot is saved the next number is proposed: selected, so Enter opens it and
  // typing another number replaces it
  var number = document.getElementById("serial");
  if (number && number.value && number.hasAttribute("autofocus")) { number.focus(); number.select(); }
  var form = document.querySelector("form[data-keyboard-entry]");
  if (!form) { return; }
  var status = document.getElementById("entry-status");
  var names = [];
  var seen = {};
  Array.prototype.forEach.call(form.querySelectorAll("input[type=radio][data-k]"), function (r) {
    if (!seen[r.name]) { seen[r.name] = true; names.push(r.name); }
  });
  if (!names.length) { return; }

  function radios(name) {
    return Array.prototype.filter.call(form.querySelectorAll("input[type=radio][data-k]"),
                                       function (r) { return r.name === name; });
  }
  function unitOf(name) { return name === "category" ? "category" : name.split(":")[0]; }
  function answered(name) { return radios(name).some(function (r) { return r.checked; }); }
  function firstOpen() {
    for (var i = 0; i < names.length; i++) { if (!answered(names[i])) { return i; } }
    return names.length;
  }

  var cursor = firstOpen();

  function show() {
    Array.prototype.forEach.call(form.querySelectorAll(".cursor"), function (el) { el.classList.remove("cursor"); });
    if (cursor < names.length) {
      var group = radios(names[cursor]);
      group.forEach(function (r) { var cell = r.closest("td, label"); if (cell) { cell.classList.add("cursor"); } });
      var first = group[0] && group[0].closest("td, label");
      if (first && first.scrollIntoView) { first.scrollIntoView({block: "nearest", inline: "nearest"}); }
      if (status) { status.textContent = (group[0] && group[0].getAttribute("data-where")) || ""; }
    } else if (status) {
      status.textContent = status.getAttribute("data-done") || "";
    }
  }

  function set(index, key) {
    var hit = radios(names[index]).filter(function (r) { return r.getAttribute("data-k") === key; })[0];
    if (!hit) { return false; }
    hit.checked = true;
    return true;
  }

  function skipUnit() {
    var unit = unitOf(names[cursor]);
    if (unit === "category") { return false; }
    var i = cursor;
    while (i < names.length && unitOf(names[i]) === unit) { set(i, "0"); i++; }
    cursor = i;
    return true;
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("input:not([type=radio]), textarea, select")) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key;
    var handled = true;
    if (/^[0-9]$/.test(key) && cursor < names.length) {
      if (set(cursor, key)) { cursor++; } else if (status) { status.textContent = status.getAttribute("data-nokey") + " " + key; }
    } else if ((key === "*" || key === "x" || key === "X") && cursor < names.length) {
      if (set(cursor, "*")) { cursor++; }
    } else if ((key === "-" || key === "/") && cursor < names.length) {
      skipUnit();
    } else if (key === "Backspace") {
      if (cursor > 0) { cursor--; }
      radios(names[cursor]).forEach(function (r) { r.checked = false; });
    } else if (key === "ArrowLeft") {
      if (cursor > 0) { cursor--; }
    } else if (key === "ArrowRight") {
      if (cursor < names.length) { cursor++; }
    } else if (key === "Enter") {
      var open = firstOpen();
      if (open < names.length) { cursor = open; } else if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    } else {
      handled = false;
    }
    if (handled) { event.preventDefault(); show(); }
  });

  form.addEventListener("change", function (event) {
    var i = names.indexOf(event.target.name);
    if (i >= 0) { cursor = i + 1; show(); }
  });
  show();
}());
