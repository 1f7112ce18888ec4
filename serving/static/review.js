// The reviewer's page: the review queue of one solution interest, rule and model side by
// side, and the four decisions. It talks to the same /v1 API as every other client through
// ui.js (the key typed in at login, kept in this tab's sessionStorage only). Every value from
// the API is written with textContent, never as HTML.
"use strict";

// One scope per script: both run in the same page.
(() => {

  const PAGE_SIZE = 25;
  const COLUMNS = ["Person", "Rule says", "Model says", "Decision"];
  const state = { offset: 0, total: 0, roles: [], decidedHere: 0 };

  const $ = (id) => document.getElementById(id);
  const api = (path, options) => window.bg.api(path, options);
  const say = (message, isError) => window.bg.say(message, isError);

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function reviewer() {
    return $("reviewer").value.trim();
  }

  function percent(value) {
    return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
  }

  function roleCell(role, className = "role") {
    return role ? element("div", role, className) : element("div", "no role", "none");
  }

  function ruleColumn(item) {
    const cell = element("td");
    cell.append(roleCell(item.rule_role));
    const evidence = item.rule_evidence || {};
    const why = evidence.condition || evidence.fired || (evidence.card === null ? "no card fired" : "");
    if (why) cell.append(element("div", why, "evidence"));
    return cell;
  }

  function modelColumn(item) {
    const cell = element("td");
    cell.append(roleCell(item.model_role));
    const confidence = item.model_confidence;
    if (confidence !== null && confidence !== undefined) {
      const bar = element("div", null, "review-bar");
      const fill = element("span");
      fill.style.width = percent(confidence);
      bar.append(fill);
      cell.append(element("div", `confidence ${percent(confidence)}`, "evidence"), bar);
    }
    const nearest = ((item.model_evidence || {}).nearest_titles || []).slice(0, 3);
    if (nearest.length) {
      const box = element("div", "nearest labelled titles:", "evidence");
      const list = element("ol");
      for (const neighbour of nearest) {
        const label = neighbour.role || neighbour.label || "";
        list.append(element("li", `${neighbour.title} → ${label} (${percent(neighbour.similarity)})`));
      }
      box.append(list);
      cell.append(box);
    }
    return cell;
  }

  function decidedText(item) {
    const role = item.decided_role ? ` → ${item.decided_role}` : "";
    return `${item.decision.replaceAll("_", " ")}${role} (${item.decided_by || "?"})`;
  }

  function actionsColumn(item, row) {
    const cell = element("td");
    if (item.decision) {
      cell.append(element("div", decidedText(item), "decided"));
      row.classList.add("done");
      return cell;
    }
    const box = element("div", null, "actions");
    const button = (text, decision, disabled = false) => {
      const node = element("button", text);
      node.type = "button";
      node.dataset.decision = decision;
      node.disabled = disabled;
      node.addEventListener("click", () => decide(item, decision, null, row));
      return node;
    };
    box.append(
      button("Accept rule", "accept_rule", !item.rule_role),
      button("Accept model", "accept_model", !item.model_role || item.model_role === "No role"),
      button("Not a member", "not_a_member"),
    );
    const other = element("select");
    other.setAttribute("aria-label", "Another role");
    other.append(element("option", "another role…"));
    other.options[0].value = "";
    for (const role of state.roles) other.append(element("option", role));
    const apply = element("button", "Set role");
    apply.type = "button";
    apply.dataset.decision = "other_role";
    apply.addEventListener("click", () => {
      if (!other.value) return say("choose a role first", true);
      decide(item, "other_role", other.value, row);
    });
    box.append(other, apply);
    cell.append(box);
    return cell;
  }

  function personColumn(item) {
    const cell = element("td");
    cell.append(element("div", item.person_name || item.person_external_id, "role"));
    cell.append(element("div", item.job_title || "(no title)"));
    cell.append(element("div", `${item.account_name} · ${item.account_external_id}`, "evidence"));
    const reason = item.reason === "disagreement" ? "rule and model disagree" : "model unsure";
    cell.append(element("div", reason, "evidence"));
    return cell;
  }

  function renderReviews(page) {
    const body = $("reviews").querySelector("tbody");
    body.replaceChildren();
    for (const item of page.items) {
      const row = element("tr");
      row.dataset.review = item.id;
      row.tabIndex = 0; // focusable: the keyboard decides on the focused row
      row.append(personColumn(item), ruleColumn(item), modelColumn(item), actionsColumn(item, row));
      // Labels for the narrow layout, where each row is a card.
      COLUMNS.forEach((label, index) => (row.children[index].dataset.label = label));
      body.append(row);
    }
    if (!page.items.length) {
      const row = element("tr");
      const cell = element("td", "Nothing to review with these filters.", "none");
      cell.colSpan = 4;
      row.append(cell);
      body.append(row);
    }
    state.total = page.total;
    state.shown = page.items.length;
    state.decidedHere = 0;
    showCount();
  }

  // The count is live: a decision takes the item out of the open queue at once.
  function showCount() {
    const open = $("state").value === "open";
    const total = open ? state.total - state.decidedHere : state.total;
    $("total").textContent = `(${total}${open ? " open" : ""})`;
    const offset = state.offset;
    const last = Math.min(offset + state.shown, state.total);
    $("page").textContent = state.total ? `${offset + 1}–${last} of ${state.total}` : "";
    $("previous").disabled = offset === 0;
    $("next").disabled = last >= state.total;
  }

  // Honest: the rate counts only persons at least one side places in a role; the persons
  // neither places ("No role / No role") are said apart, as is Cohen's kappa over everyone.
  function agreementText(comparison) {
    const version = `version ${comparison.model_version}`;
    if (!comparison.persons) return "No person to compare yet.";
    if (!comparison.placed) {
      return `Neither the rules nor the model (${version}) place any of the ${comparison.persons} persons in a role.`;
    }
    const kappa =
      comparison.kappa === null || comparison.kappa === undefined
        ? ""
        : `; Cohen's kappa ${comparison.kappa.toFixed(2)}`;
    return (
      `Of the ${comparison.placed} persons that the rules or the model (${version}) place in a ` +
      `role, they agree on ${percent(comparison.agreement_rate)} (${comparison.agreements}); ` +
      `${comparison.disagreements_total} disagree${kappa}. ` +
      `${comparison.no_role_both} of ${comparison.persons} persons get no role from either.`
    );
  }

  function renderComparison(comparison) {
    $("agreement").textContent = agreementText(comparison);
    const table = $("confusion");
    table.replaceChildren();
    const ruleRoles = Object.keys(comparison.confusion);
    const modelRoles = [...new Set(ruleRoles.flatMap((r) => Object.keys(comparison.confusion[r])))];
    const head = element("tr");
    head.append(element("th", "rule ↓ / model →"));
    for (const role of modelRoles) head.append(element("th", role));
    table.append(head);
    for (const ruleRole of ruleRoles) {
      const row = element("tr");
      row.append(element("th", ruleRole));
      for (const modelRole of modelRoles) {
        const count = comparison.confusion[ruleRole][modelRole] || 0;
        row.append(element("td", count, ruleRole === modelRole ? "same" : ""));
      }
      table.append(row);
    }
    $("comparison").hidden = false;
  }

  let latestComparison = 0;

  async function loadComparison() {
    const request = ++latestComparison;
    const interest = $("interest").value;
    $("comparison").hidden = false;
    if (!$("agreement").textContent) $("agreement").textContent = "Comparing rules and model…";
    try {
      const query = new URLSearchParams({ solution_interest: interest, limit: "0" });
      const comparison = await api(`/v1/comparisons?${query}`);
      if (request !== latestComparison) return;
      renderComparison(comparison);
    } catch (error) {
      if (request !== latestComparison) return;
      $("comparison").hidden = false;
      $("confusion").replaceChildren();
      $("agreement").textContent = `No comparison: ${error.message}`;
    }
  }

  let latestReviews = 0;

  async function loadReviews() {
    const request = ++latestReviews;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
    const fields = { solution_interest: "interest", state: "state", reason: "reason" };
    for (const [name, id] of Object.entries(fields)) {
      if ($(id).value) query.set(name, $(id).value);
    }
    if ($("account").value.trim()) query.set("account_external_id", $("account").value.trim());
    try {
      const page = await api(`/v1/reviews?${query}`);
      if (request !== latestReviews) return; // a newer filter's answer wins
      renderReviews(page);
      $("queue").hidden = false;
    } catch (error) {
      if (request !== latestReviews) return;
      say(`Could not load the review queue: ${error.message}`, true);
    }
  }

  async function decide(item, decision, role, row) {
    const body = { decision };
    if (role) body.role = role;
    if (reviewer()) body.reviewer = reviewer();
    const enabled = [...row.querySelectorAll("button, select")].filter((c) => !c.disabled);
    for (const control of enabled) control.disabled = true;
    try {
      const decided = await api(`/v1/reviews/${item.id}/decision`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      const cell = actionsColumn(decided, row);
      cell.dataset.label = COLUMNS[3];
      row.lastElementChild.replaceWith(cell);
      say(`${decided.person_name}: ${decidedText(decided)}`);
      if ($("state").value === "open") state.decidedHere += 1;
      showCount();
      const hadFocus = document.activeElement === row || row.contains(document.activeElement);
      const next = nextOpenRow(row) || reviewRows().find((r) => !r.classList.contains("done"));
      if (!next && $("state").value === "open") {
        // Page done: the open queue has moved up by what was decided; show what comes next.
        await loadReviews();
        if (hadFocus) focusRow(reviewRows()[0]);
      } else if (hadFocus) {
        focusRow(next);
      }
      loadComparison();
    } catch (error) {
      for (const control of enabled) control.disabled = false;
      say(`Decision not saved: ${error.message}`, true);
    }
  }

  async function onConnected() {
    try {
      const [interests, roles] = await Promise.all([
        api("/v1/solution-interests"),
        api("/v1/roles"),
      ]);
      state.roles = roles.map((r) => r.name);
      const select = $("interest");
      const previous = select.value;
      select.replaceChildren(...interests.map((i) => element("option", i.name)));
      if (previous) select.value = previous;
      if (!interests.length) return say("No solution interest yet: create one first.", true);
      $("filters").hidden = false;
      say(`Connected: ${interests.length} solution interests.`);
      await refresh();
    } catch (error) {
      if (error.status !== 401) say(`Could not load the queue: ${error.message}`, true);
    }
  }

  function onDisconnected() {
    for (const id of ["filters", "comparison", "queue"]) $(id).hidden = true;
    $("agreement").textContent = "";
  }

  async function refresh() {
    state.offset = 0;
    await Promise.all([loadReviews(), loadComparison()]);
  }

  // Keyboard: j / k (or the arrow keys) move between rows; on the focused row r accepts the
  // rule, m the model, n says "not a member". A decided row moves the focus to the next open one.
  const KEY_DECISIONS = { r: "accept_rule", m: "accept_model", n: "not_a_member" };

  function reviewRows() {
    return [...$("reviews").querySelectorAll("tbody tr[data-review]")];
  }

  function focusRow(row) {
    if (row) row.focus();
  }

  function nextOpenRow(row) {
    const rows = reviewRows();
    const after = rows.slice(rows.indexOf(row) + 1);
    return after.find((r) => !r.classList.contains("done")) || null;
  }

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const row = event.target.closest && event.target.closest("tr[data-review]");
    if (!row || event.target.matches("input, select")) return;
    const rows = reviewRows();
    const key = event.key.toLowerCase();
    if (key === "j" || event.key === "ArrowDown") {
      focusRow(rows[rows.indexOf(row) + 1]);
    } else if (key === "k" || event.key === "ArrowUp") {
      focusRow(rows[rows.indexOf(row) - 1]);
    } else if (KEY_DECISIONS[key]) {
      const button = row.querySelector(`button[data-decision=${KEY_DECISIONS[key]}]`);
      if (button && !button.disabled) button.click();
    } else {
      return;
    }
    event.preventDefault();
  }

  function start() {
    $("reviews").addEventListener("keydown", onKey);
    for (const id of ["interest", "state", "reason"]) $(id).addEventListener("change", refresh);
    $("account").addEventListener("change", refresh);
    $("refresh").addEventListener("click", refresh);
    $("reviewer").value = sessionStorage.getItem("bg-reviewer") || "";
    $("reviewer").addEventListener("change", () =>
      sessionStorage.setItem("bg-reviewer", reviewer()),
    );
    $("previous").addEventListener("click", () => {
      state.offset = Math.max(0, state.offset - PAGE_SIZE);
      loadReviews();
    });
    $("next").addEventListener("click", () => {
      // Decided items have left the open queue: the next page starts that much earlier.
      state.offset += PAGE_SIZE - state.decidedHere;
      loadReviews();
    });
    document.addEventListener("bg:connected", onConnected);
    document.addEventListener("bg:disconnected", onDisconnected);
    // ui.js ran first (both deferred, in order): when the tab was already logged in, its
    // "connected" event has fired before this listener existed.
    if (document.body.classList.contains("connected")) onConnected();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
