// The trip map: the route drawn as an SVG line from its coordinates (no tiles, no network), the
// stops with their kinds, and the distance and duration pam-mcp computed. Two tools open it:
// log_trip, whose route and stops come with its arguments (ui/notifications/tool-input) and its
// figures with its result; and show_trip (a saved trip), whose result carries all of it, the
// route downsampled by the database (route_points says how many points the trip has).
(() => {
  const { el, svg, instant } = pam;
  const $ = (id) => document.getElementById(id);
  const KINDS = {
    campground: "Campground", fuel: "Fuel", food: "Food", attraction: "Attraction",
    dump_station: "Dump station", rest_area: "Rest area", shopping: "Shopping", other: "Other",
  };
  const MAX_DRAWN_POINTS = 1000; // a 5,000-point route drawn at this many looks the same
  const WIDTH = 600;
  const HEIGHT = 220;
  const PAD = 30; // room for the ends' names

  let input = null;

  const finite = (p) => p && Number.isFinite(Number(p.lat)) && Number.isFinite(Number(p.lon));

  function downsample(points) {
    if (points.length <= MAX_DRAWN_POINTS) return points;
    const stride = Math.ceil(points.length / MAX_DRAWN_POINTS);
    const kept = points.filter((_, i) => i % stride === 0);
    if (kept[kept.length - 1] !== points[points.length - 1]) kept.push(points[points.length - 1]);
    return kept;
  }

  // Equirectangular, shrunk east-west by the cosine of the middle latitude: true enough for a
  // drive, and needs nothing but arithmetic.
  function projection(places) {
    const lats = places.map((p) => Number(p.lat));
    const lons = places.map((p) => Number(p.lon));
    const k = Math.cos((((Math.min(...lats) + Math.max(...lats)) / 2) * Math.PI) / 180);
    const xs = lons.map((lon) => lon * k);
    const ys = lats.map((lat) => -lat);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const span = Math.max(x1 - x0, y1 - y0, 1e-4);
    const scale = Math.min((WIDTH - 2 * PAD) / Math.max(x1 - x0, span / 100), (HEIGHT - 2 * PAD) / Math.max(y1 - y0, span / 100));
    const dx = (WIDTH - (x1 - x0) * scale) / 2;
    const dy = (HEIGHT - (y1 - y0) * scale) / 2;
    return (p) => [dx + (Number(p.lon) * k - x0) * scale, dy + (-Number(p.lat) - y0) * scale];
  }

  function duration(hours) {
    const minutes = Math.round(hours * 60);
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return h === 0 ? `${m} min` : m === 0 ? `${h} h` : `${h} h ${m} min`;
  }

  function fact(name, value) {
    return el("div", {}, el("dt", { text: name }), el("dd", { text: value }));
  }

  function drawMap(route, stops, pointCount) {
    const places = [...route, ...stops];
    if (places.length === 0) return el("p", { class: "muted", text: "No route points or stops were logged." });
    const at = projection(places);
    const start = route[0] || null;
    const end = route.length > 1 ? route[route.length - 1] : null;
    const from = (start && start.name) || (stops[0] && stops[0].name) || "the start";
    const to = (end && end.name) || (stops.length > 1 && stops[stops.length - 1].name) || "the end";
    const map = svg("svg", {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: "img",
      "aria-label": `Map of the route from ${from} to ${to}, ${pointCount} route points and ${stops.length} stops; the stops are listed below.`,
    });
    if (route.length > 1) {
      const line = downsample(route).map((p) => at(p).map((n) => n.toFixed(1)).join(",")).join(" ");
      map.append(svg("polyline", { class: "route", points: line }));
    }
    const ends = [[start, route[1], "Start"], [end, route[route.length - 2], "End"]].filter(([p]) => p);
    for (const [point, , name] of ends) {
      const [x, y] = at(point);
      map.append(svg("circle", { class: "end-point", cx: x.toFixed(1), cy: y.toFixed(1), r: 4 }, svg("title", {}, point.name ? `${name}: ${point.name}` : name)));
    }
    stops.forEach((stop, i) => {
      const [x, y] = at(stop);
      map.append(svg("g", {},
        svg("title", {}, `${i + 1}. ${stop.name} (${KINDS[stop.kind] || "Other"})`),
        svg("circle", { class: "stop", cx: x.toFixed(1), cy: y.toFixed(1), r: 9 }),
        svg("text", { class: "stop-number", x: x.toFixed(1), y: (y + 4).toFixed(1), "text-anchor": "middle" }, String(i + 1)),
      ));
    });
    // The ends' names last, so they stay readable, set beyond the end of the line (away from it).
    for (const [point, neighbour, name] of ends) {
      const [x, y] = at(point);
      const [nx, ny] = neighbour ? at(neighbour) : [x - 1, y];
      const length = Math.hypot(x - nx, y - ny) || 1;
      const [ux, uy] = [(x - nx) / length, (y - ny) / length];
      const anchor = ux > 0.4 ? "start" : ux < -0.4 ? "end" : "middle";
      const lx = Math.min(WIDTH - 4, Math.max(4, x + ux * 14));
      const ly = Math.min(HEIGHT - 4, Math.max(12, y + uy * 14 + (uy > 0.4 ? 14 : uy < -0.4 ? -2 : 4)));
      map.append(svg("text", { class: "place", x: lx.toFixed(1), y: ly.toFixed(1), "text-anchor": anchor }, point.name || name));
    }
    return map;
  }

  // What to draw: show_trip's result has the trip itself (its route among it); log_trip's has
  // only the figures, the trip being in its arguments.
  function trip(args, result) {
    if (Array.isArray(result.route)) return [result, result, Number(result.route_points)];
    const route = Array.isArray(args.route) ? args.route : [];
    return [args, result, route.length];
  }

  function render(toolArgs, toolResult) {
    const [args, result, pointCount] = trip(toolArgs, toolResult);
    const route = (Array.isArray(args.route) ? args.route : []).filter(finite);
    const stops = (Array.isArray(args.stops) ? args.stops : []).filter(finite);
    $("title").textContent = args.title || "Trip";
    const when = [];
    if (args.started_at) when.push(instant(args.started_at));
    if (args.ended_at) when.push(instant(args.ended_at));
    $("when").textContent = when.join(" – ");

    const km = result.distance_km === null || result.distance_km === undefined ? NaN : Number(result.distance_km);
    const facts = [fact("Distance", Number.isFinite(km) ? `${km.toLocaleString(pam.context.locale, { maximumFractionDigits: 1 })} km` : "Not recorded")];
    facts.push(fact("Duration", result.under_way || result.duration_hours === null ? "Under way" : duration(result.duration_hours)));
    facts.push(fact("Stops", String(result.stop_count)));
    facts.push(fact("Route points", String(Number.isFinite(pointCount) ? pointCount : route.length)));
    $("facts").replaceChildren(...facts);

    $("map").replaceChildren(drawMap(route, stops, Number.isFinite(pointCount) ? pointCount : route.length));
    $("map-caption").textContent = route.length < pointCount
      ? `Drawn from ${route.length} of the ${pointCount} logged points, evenly spaced; north is up.`
      : "Drawn from the logged coordinates; north is up.";

    const list = $("stops");
    list.replaceChildren();
    if (stops.length === 0) list.append(el("li", { class: "muted", text: "No stops." }));
    stops.forEach((stop, i) => {
      const details = [KINDS[stop.kind] || "Other"];
      if (stop.at) details.push(instant(stop.at, { timeStyle: "short" }));
      list.append(el("li", {},
        el("span", { class: "number", "aria-hidden": "true", text: String(i + 1) }),
        el("span", {}, el("span", { class: "stop-name", text: stop.name }), " ", el("span", { class: "kind", text: `· ${details.join(" · ")}` })),
        stop.cost !== undefined && stop.cost !== null ? el("span", { class: "muted", text: `cost ${Number(stop.cost).toFixed(2)}` }) : el("span"),
      ));
    });
    $("status").hidden = true;
    $("content").hidden = false;
    $("app").setAttribute("aria-busy", "false");
  }

  function fail(text) {
    const status = $("status");
    status.textContent = text;
    status.classList.add("error");
    status.hidden = false;
  }

  let lastResult = null;
  pam.start({
    onToolInput: (args) => { input = args || {}; },
    onToolResult: (result) => {
      if (result.isError) {
        fail((result.content && result.content[0] && result.content[0].text) || (input && input.trip_id ? "The trip could not be shown." : "The trip was not logged."));
        return;
      }
      lastResult = result.structuredContent || {};
      render(input || {}, lastResult);
    },
    onCancelled: () => fail(input && input.trip_id ? "Showing the trip was cancelled." : "Logging the trip was cancelled."),
    onError: (error) => fail(error.message),
    onContext: () => { if (lastResult) render(input || {}, lastResult); },
  });
})();
