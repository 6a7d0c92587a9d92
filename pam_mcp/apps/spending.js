// The spending dashboard: query_expenses' result drawn as categories against budget and a trend,
// with each category's items a click (or Enter / Space) away. The figures come from two app-only
// tools on pam-mcp, spending_overview and spending_items, both rate limited like any call.
(() => {
  const { el, svg, money, day } = pam;
  const $ = (id) => document.getElementById(id);
  const LABELS = {
    fuel: "Fuel", food: "Food", campground: "Campgrounds", maintenance: "Maintenance",
    entertainment: "Entertainment", propane: "Propane", utilities: "Utilities", shopping: "Shopping",
    insurance: "Insurance", registration: "Registration", other: "Other",
  };
  const label = (category) => LABELS[category] || category;

  let input = {};
  let view = null; // the overview being shown
  let openCategory = null;
  let cursor = null;

  function setStatus(text, isError) {
    const status = $("status");
    status.textContent = text;
    status.hidden = !text;
    status.classList.toggle("error", Boolean(isError));
  }

  function rangeText(start, end) {
    const long = { day: "numeric", month: "long", year: "numeric" };
    return start === end ? day(start, long) : `${day(start, long)} – ${day(end, long)}`;
  }

  // The overview's shape, from query_expenses' own result when the overview cannot be had.
  function fromQueryResult(result) {
    const byCategory = (result.groups || []).every((g) => g.key === null || g.key in LABELS);
    return {
      currency: null,
      start: result.start,
      end: result.end,
      total: result.total,
      count: result.count,
      categories: byCategory ? result.groups : [],
      budgets: result.budgets || [],
      trend_by: null,
      trend: [],
    };
  }

  function render(data) {
    view = data;
    const currency = data.currency;
    $("range").textContent = rangeText(data.start, data.end);
    $("summary").replaceChildren(
      el("strong", { text: money(data.total, currency) }),
      ` spent · ${data.count} ${data.count === 1 ? "expense" : "expenses"}`,
    );
    renderCategories(data, currency);
    renderTrend(data, currency);
    $("content").hidden = false;
    $("app").setAttribute("aria-busy", "false");
  }

  function renderCategories(data, currency) {
    const budgets = new Map((data.budgets || []).map((b) => [b.category, b]));
    const rows = (data.categories || []).map((g) => ({ category: g.key, spent: Number(g.total), count: g.count }));
    for (const b of budgets.values()) {
      if (!rows.some((r) => r.category === b.category)) rows.push({ category: b.category, spent: 0, count: 0 });
    }
    // One scale for every bar: the largest of what was spent and what was budgeted.
    const scale = Math.max(1, ...rows.map((r) => r.spent), ...[...budgets.values()].map((b) => Number(b.budget)));
    const list = $("categories");
    list.replaceChildren();
    if (rows.length === 0) {
      list.append(el("li", { class: "muted", text: "Nothing spent in this period." }));
      return;
    }
    for (const row of rows) {
      const budget = budgets.get(row.category);
      const over = budget ? budget.over_budget : false;
      let budgetText = "No budget set";
      if (budget) {
        budgetText = over
          ? `${money(Number(budget.spent) - Number(budget.budget), currency)} over the ${money(budget.budget, currency)} budget`
          : `${Math.round(budget.percent_used)}% of the ${money(budget.budget, currency)} budget · ${money(budget.remaining, currency)} left`;
      }
      const bar = el("span", { class: "bar", "aria-hidden": "true" },
        el("span", { class: over ? "fill over" : "fill", style: `width:${(row.spent / scale) * 100}%` }),
        budget ? el("span", { class: "budget-line", style: `left:${(Number(budget.budget) / scale) * 100}%` }) : null,
      );
      const button = el("button", {
        type: "button",
        class: "category",
        "data-category": row.category,
        "aria-expanded": String(row.category === openCategory),
        "aria-controls": "items",
        onclick: () => openItems(row.category),
      },
        el("span", { class: "name", text: label(row.category) }),
        el("span", { class: over ? "amount over" : "amount", text: money(row.spent, currency) }),
        bar,
        el("span", { class: over ? "budget muted over" : "budget muted", text: budgetText }),
      );
      list.append(el("li", {}, button));
    }
  }

  // Every day (or week) of the range, zero where nothing was spent, so gaps read as gaps.
  function series(data) {
    const totals = new Map((data.trend || []).map((g) => [g.key, Number(g.total)]));
    if (data.trend_by !== "day") return [...totals.entries()].map(([key, total]) => ({ key, total }));
    const out = [];
    const [y, m, d] = data.start.split("-").map(Number);
    const end = Date.UTC(...data.end.split("-").map((n, i) => (i === 1 ? Number(n) - 1 : Number(n))));
    for (let t = Date.UTC(y, m - 1, d); t <= end && out.length < 400; t += 86400000) {
      const key = new Date(t).toISOString().slice(0, 10);
      out.push({ key, total: totals.get(key) || 0 });
    }
    return out;
  }

  function renderTrend(data, currency) {
    const box = $("trend");
    const points = series(data);
    $("trend-title").textContent = data.trend_by === "week" ? "By week" : data.trend_by === "month" ? "By month" : "By day";
    if (points.length === 0 || points.every((p) => p.total === 0)) {
      box.replaceChildren(el("p", { class: "muted", text: data.trend_by ? "Nothing spent in this period." : "Trend unavailable." }));
      return;
    }
    const width = 600;
    const height = 100;
    const bottom = 99;
    const top = 4;
    const max = Math.max(...points.map((p) => p.total));
    const step = width / points.length;
    const peak = points.reduce((a, b) => (b.total > a.total ? b : a));
    const name = (key) => (data.trend_by === "month" ? day(`${key}-01`, { month: "short", year: "numeric" }) : day(key));
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      preserveAspectRatio: "none",
      role: "img",
      "aria-label": `Spending ${$("trend-title").textContent.toLowerCase()}: highest ${money(peak.total, currency)} on ${name(peak.key)}.`,
    });
    chart.append(svg("line", { x1: 0, x2: width, y1: bottom + 0.5, y2: bottom + 0.5 }));
    points.forEach((p, i) => {
      const h = max > 0 ? ((bottom - top) * p.total) / max : 0;
      const bar = svg("rect", {
        x: (i * step + step * 0.15).toFixed(2),
        y: (bottom - h).toFixed(2),
        width: Math.max(1, step * 0.7).toFixed(2),
        height: h.toFixed(2),
      }, svg("title", {}, `${name(p.key)}: ${money(p.total, currency)}`));
      chart.append(bar);
    });
    // Labels in HTML beside the stretched chart, so they keep their shape at any width.
    const axis = el("div", { class: "axis", "aria-hidden": "true" },
      el("span", { text: name(points[0].key) }),
      el("span", { text: `highest ${money(max, currency)}` }),
      el("span", { text: name(points[points.length - 1].key) }),
    );
    box.replaceChildren(chart, axis);
  }

  async function openItems(category) {
    for (const button of document.querySelectorAll(".category")) {
      button.setAttribute("aria-expanded", String(button.dataset.category === category));
    }
    openCategory = category;
    cursor = null;
    $("items").hidden = false;
    $("items-title").textContent = `${label(category)}: expenses`;
    $("item-list").replaceChildren();
    $("items").scrollIntoView({ block: "nearest" });
    await loadItems();
  }

  async function loadItems() {
    const category = openCategory;
    const status = $("items-status");
    const more = $("more");
    more.hidden = true;
    status.classList.remove("error");
    status.textContent = "Loading…";
    try {
      const args = { category, start: view.start, end: view.end };
      if (cursor) args.cursor = cursor;
      const page = await pam.callTool("spending_items", args);
      if (category !== openCategory) return; // another category was chosen meanwhile
      for (const item of page.items || []) {
        $("item-list").append(el("li", {},
          el("span", { class: "muted", text: day(item.spent_on) }),
          el("span", { text: item.description || label(item.category) }),
          el("span", { class: "item-amount", text: money(item.amount, view.currency) }),
        ));
      }
      cursor = page.next_cursor || null;
      status.textContent = page.count === 0 ? "No expenses in this category." : `${page.count} in all · ${money(page.total, view.currency)}`;
      more.hidden = !cursor;
    } catch (error) {
      status.classList.add("error");
      status.textContent = error.message;
    }
  }

  $("more").addEventListener("click", () => loadItems());

  async function onToolResult(result) {
    if (result.isError) {
      const text = result.content && result.content[0] && result.content[0].text;
      setStatus(text || "The query failed.", true);
      return;
    }
    const data = result.structuredContent;
    if (!data || !data.start) {
      setStatus("This result has no spending to show.", true);
      return;
    }
    const args = { start: data.start, end: data.end };
    if (Array.isArray(input.categories) && input.categories.length) args.categories = input.categories;
    try {
      render(await pam.callTool("spending_overview", args));
      setStatus("");
    } catch (error) {
      render(fromQueryResult(data)); // the tool's own figures, without the extras
      setStatus(error.message, true);
    }
  }

  pam.start({
    onToolInput: (args) => { input = args || {}; },
    onToolResult: (result) => { onToolResult(result); },
    onCancelled: () => setStatus("The query was cancelled.", true),
    onError: (error) => setStatus(error.message, true),
    onContext: () => { if (view) render(view); },
  });
})();
