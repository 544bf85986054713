import Compare
import Foundation
import Steering
import Store

/// `compare`'s report.html: the summary tables with their intervals, the concept/fluency trade-off
/// (hover a point for its scores, click it to list its generations), a generations browser with the
/// steered and unsteered answers to each instruction side by side, and each unit's PSR gate activity.
public enum BenchReportPage {
  /// `captures` are per unit (bench-id) the gate activity on its capture, where there is one;
  /// `unshown` names the units whose capture could not be shown, and why.
  public static func html(
    results: BenchResults, generations: [GenerationRecord], captures: [(unit: String, report: CaptureReport)] = [],
    unshown: [(unit: String, reason: String)] = []
  ) throws -> String {
    var body = "<h1>Steering benchmark</h1>\n<p class=\"meta\">Settings: "
    body += results.config.sorted { $0.key < $1.key }.map { HTML.escape("\($0.key)=\($0.value)") }.joined(separator: ", ") + "</p>\n"
    if let note = BenchReport.smokeTestNote(results) { body += "<p class=\"warning\" id=\"smoke-test\"><strong>\(HTML.escape(note))</strong></p>\n" }
    body += summaryTables(results)
    body += unitsTable(results)
    body += tradeoff(results)
    body += utility(results)
    body += browser(generations)
    if !captures.isEmpty || !unshown.isEmpty {
      body += "<h2>PSR gate activity per unit</h2>\n<p class=\"meta\">Each unit's capture with its fitted PSR gate: tokens coloured by"
      body += " ‖Δ‖, and the gate's coefficient beside the projection of Δ on its direction.</p>\n"
      for (k, c) in captures.enumerated() {
        body += "<h3>\(HTML.escape(c.unit))</h3>\n"
        body += try CaptureReportPage.section(c.report, id: "capture-\(k)", examplesHeading: "\(c.unit): tokens")
      }
      for u in unshown { body += "<p class=\"meta\">\(HTML.escape(u.unit)): not shown: \(HTML.escape(u.reason))</p>\n" }
    }
    body += try HTML.jsonScript(Browsable(results: results, generations: generations), id: "bench-data")
    return HTML.page(title: "Steering benchmark", body: body, script: script + CaptureReportPage.script)
  }

  /// What the page's script reads: the units and methods, and every generation.
  struct Browsable: Encodable {
    let results: BenchResults
    let generations: [GenerationRecord]
  }

  static func f(_ v: Double?, _ digits: Int = 3) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "–" }

  static func summaryTables(_ results: BenchResults) -> String {
    var out = ""
    let tables: [(Benchmark, String, [String])] = [
      (.axbench, "AxBench (scores 0–2; mean ± 95% CI over concepts)", ["concept", "instruct", "fluency", "harmonic"]),
      (.persona, "Persona (scores 0–100; mean ± 95% CI over traits, at prompting's coherence)", ["trait", "coherence"]),
      (
        .ifeval, "IFEval (% of answers following the instruction, IFEval's checkers; coherence 0–100; mean ± 95% CI over instructions)",
        ["strict", "loose", "coherence"]
      ),
    ]
    for (bench, title, columns) in tables {
      let rows = results.summary.filter { $0.bench == bench }.sorted {
        ($0.harmonic ?? $0.traitScore ?? $0.ifStrict ?? 0) > ($1.harmonic ?? $1.traitScore ?? $1.ifStrict ?? 0)
      }
      guard !rows.isEmpty else { continue }
      out +=
        "<h2>\(HTML.escape(title))</h2>\n<table class=\"summary\" data-bench=\"\(bench.rawValue)\"><tr><th class=\"l\">method</th><th>units</th>"
      out += columns.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
      for r in rows {
        let scores = results.units.filter { $0.bench == bench }.compactMap { u in u.methods.first { $0.label == r.label }?.score }
        func cell(_ k: KeyPath<ScoreSummary, Double?>, _ value: Double?) -> String {
          let values = scores.compactMap { $0[keyPath: k] }
          let ci = values.count < 2 ? "–" : f(Statistics.ci95(values))
          return "<td>\(f(value)) ± \(ci)</td>"
        }
        out += "<tr><td class=\"l\">\(HTML.escape(r.label))</td><td>\(r.nUnits)</td>"
        if bench == .axbench {
          out += cell(\.conceptScore, r.conceptScore) + cell(\.instructScore, r.instructScore) + cell(\.fluencyScore, r.fluencyScore)
          out += cell(\.harmonic, r.harmonic)
        } else if bench == .ifeval {
          out += cell(\.ifStrict, r.ifStrict) + cell(\.ifLoose, r.ifLoose) + cell(\.coherence, r.coherence)
        } else {
          out += cell(\.traitScore, r.traitScore) + cell(\.coherence, r.coherence)
        }
        out += "</tr>\n"
      }
      out += "</table>\n"
    }
    return out
  }

  /// Every unit with each method's score (the headline: harmonic or trait) and selected factor.
  static func unitsTable(_ results: BenchResults) -> String {
    let methods = results.units.flatMap { $0.methods.map(\.label) }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    var out = "<h2>Units</h2>\n<table><tr><th class=\"l\">unit</th><th class=\"l\">name</th>"
    out += methods.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr>\n"
    for u in results.units {
      out +=
        "<tr class=\"unit\"><td class=\"l\">\(HTML.escape(u.bench.rawValue))-\(HTML.escape(u.unitID))</td><td class=\"l\">\(HTML.escape(u.name))</td>"
      for m in methods {
        guard let r = u.methods.first(where: { $0.label == m }) else {
          out += "<td>–</td>"
          continue
        }
        let factor = r.selectedFactor.map { String(format: " <span class=\"meta\">@%g</span>", Double($0)) } ?? ""
        out += "<td>\(f(r.score.headline))\(factor)</td>"
      }
      out += "</tr>\n"
    }
    return out + "</table>\n<p class=\"meta\">Score: harmonic (AxBench, test half, at the selected factor), trait score (persona, at"
      + " prompting's coherence) or strict IFEval accuracy in % (IFEval, test half, at the selected factor); @f: the selected factor.</p>\n"
  }

  /// Mean concept score against mean fluency per method and factor (AxBench), one line per method.
  static func tradeoff(_ results: BenchResults) -> String {
    let series = TradeoffSeries(results)
    guard !series.isEmpty else { return "" }
    let points = series.lines.flatMap(\.points)
    let frame = SVGPlot.Frame(
      width: 700, height: 430, left: 60, right: 150, x: SVGPlot.range(points.map(\.fluency) + [0]),
      y: SVGPlot.range(points.map(\.concept) + [0]))
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    var svg = "<h2>Concept against fluency across factors</h2>\n<p class=\"meta\">Mean over concepts (test scores). Hover a point"
    svg += " for its method, factor and scores; click it to list its generations below.</p>\n"
    svg += frame.open(id: "tradeoff", xLabel: "fluency score", yLabel: "concept score", tick: "%.2f", fontSize: 12)
    for (i, (method, line)) in series.lines.enumerated() {
      let colour = colours[i % colours.count]
      svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\""
      svg += line.map { String(format: "%.1f,%.1f", frame.px($0.fluency), frame.py($0.concept)) }.joined(separator: " ") + "\"/>\n"
      for p in line {
        let tip = String(
          format: "%@ · factor %g · concept %.3f · fluency %.3f · harmonic %.3f (%d units)", HTML.escape(method), Double(p.factor),
          p.concept, p.fluency, p.harmonic, p.units)
        svg += String(
          format:
            "<circle class=\"pt\" data-method=\"%@\" data-factor=\"%g\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\"><title>%@</title></circle>\n",
          HTML.escape(method), Double(p.factor), frame.px(p.fluency), frame.py(p.concept), colour, tip)
      }
      let legend = frame.width - frame.right
      svg += "<rect x=\"\(legend + 15)\" y=\"\(frame.top + Double(i) * 20)\" width=\"12\" height=\"12\" fill=\"\(colour)\"/>"
      svg += "<text x=\"\(legend + 32)\" y=\"\(frame.top + Double(i) * 20 + 10)\">\(HTML.escape(method))</text>\n"
    }
    return svg + "</svg>\n"
  }

  /// AxBench's operating points: the table and the robustness/utility plot (hover a point for its
  /// values, click it to list the method's generations, its suppressed answers among them).
  static func utility(_ results: BenchResults) -> String {
    guard let rows = results.operatingPoints, !rows.isEmpty, let svg = BenchReport.utilitySVG(results, id: "utility") else { return "" }
    var out = "<h2>Utility and robustness</h2>\n<p class=\"meta\">AxBench units, mean over concepts. Suppressed: the test instructions"
    out += " rewritten to avoid the concept, steered toward it (AxBench rubric, relevance against the original instruction). GSM8K: greedy,"
    out += " lm-eval's flexible extraction. Reference NLL: AlpacaEval GPT-4 answers teacher-forced under the steering.</p>\n"
    out += "<table><tr><th>operating point</th><th>concepts</th><th>suppressed harmonic</th><th>GSM8K %</th><th>GSM8K vs none</th>"
    out += "<th>reference NLL</th><th>vs none</th></tr>\n"
    for r in rows {
      out += "<tr><td>\(HTML.escape(r.label))</td><td>\(r.nUnits)</td><td>\(f(r.suppressedHarmonic)) ± \(f(r.suppressedCI95))</td>"
      out += "<td>\(f(r.gsm8kAccuracy, 1))</td><td>\(r.gsm8kRelative.map { String(format: "%.0f%%", $0) } ?? "–")</td>"
      out += "<td>\(f(r.referenceNLL))</td><td>\(r.referenceNLLIncrease.map { String(format: "%+.3f", $0) } ?? "–")</td></tr>\n"
    }
    return out + "</table>\n" + svg
  }

  /// The generations browser: filters, and a static list of the first generations for a page read
  /// without JavaScript (the script replaces it with the filtered list).
  static func browser(_ generations: [GenerationRecord]) -> String {
    var out = "<h2>Generations</h2>\n<div class=\"controls\" id=\"filters\">"
    for (name, label) in [("unit", "unit"), ("method", "method"), ("factor", "factor"), ("split", "split")] {
      out += "<label>\(label) <select data-key=\"\(name)\"><option value=\"\">all</option></select></label> "
    }
    out += "<span class=\"meta\" id=\"count\"></span></div>\n"
    out +=
      "<p class=\"meta\">Each steered answer beside the unsteered model's answer (method <code>none</code>) to the same instruction, each with its judge's scores.</p>\n"
    out += "<div id=\"gens\">\n"
    let unsteered = Dictionary(
      generations.filter { $0.method == "none" }.map { ("\($0.bench)-\($0.unit)|\($0.instruction)", $0) },
      uniquingKeysWith: { a, _ in a })
    for g in generations.prefix(40) {
      out +=
        "<div class=\"gen\"><div><b>\(HTML.escape(g.bench))-\(HTML.escape(g.unit))</b> · \(HTML.escape(g.label)) · factor \(String(format: "%g", Double(g.factor))) · \(HTML.escape(g.split))</div>"
      out +=
        "<div class=\"ins\">\(HTML.escape(g.instruction))</div><div class=\"pair\"><div><div class=\"scores\">\(HTML.escape(g.label))</div>"
      out += "\(HTML.escape(g.response))<div class=\"scores\">\(scores(g))</div></div><div><div class=\"scores\">none (unsteered)</div>"
      let plain = unsteered["\(g.bench)-\(g.unit)|\(g.instruction)"]
      out +=
        "\(HTML.escape(plain?.response ?? "(no unsteered answer)"))<div class=\"scores\">\(plain.map(scores) ?? "")</div></div></div></div>\n"
    }
    if generations.count > 40 { out += "<p class=\"meta\">… \(generations.count - 40) more (JavaScript lists and filters them all).</p>\n" }
    return out + "</div>\n"
  }

  static func scores(_ g: GenerationRecord) -> String {
    [
      ("concept", g.conceptScore), ("instruct", g.instructScore), ("fluency", g.fluencyScore), ("harmonic", g.harmonic),
      ("trait", g.traitScore), ("coherence", g.coherence),
    ].compactMap { name, v in v.map { String(format: "%@ %.2f", name, $0) } }.joined(separator: " · ")
  }

  static let script = """
    (function () {
      const data = JSON.parse(document.getElementById('bench-data').textContent);
      const gens = data.generations, box = document.getElementById('gens'), count = document.getElementById('count');
      const selects = Array.from(document.querySelectorAll('#filters select'));
      // A generation's row, as the tables name it (results.json schema 2 keeps these as fields).
      function label(g) {
        const m = g.with_instruction ? g.method + '+prompt' : g.method, f = g.trained_alpha_fraction;
        return typeof f !== 'number' ? m : f === 1 ? m + '@trained' : m + '@' + f + 'α';
      }
      const key = { unit: function (g) { return g.bench + '-' + g.unit; }, method: label,
        factor: function (g) { return String(g.factor); }, split: function (g) { return g.split; } };
      const unsteered = {};
      gens.forEach(function (g) { const k = key.unit(g) + '|' + g.instruction; if (g.method === 'none' && !unsteered[k]) unsteered[k] = g; });
      selects.forEach(function (s) {
        const values = Array.from(new Set(gens.map(key[s.dataset.key]))).sort(function (a, b) { return isNaN(a) || isNaN(b) ? (a < b ? -1 : a > b ? 1 : 0) : a - b; });
        values.forEach(function (v) { const o = document.createElement('option'); o.value = v; o.textContent = v; s.appendChild(o); });
        s.addEventListener('change', render);
      });
      function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
      function scores(g) {
        return [['concept', g.concept_score], ['instruct', g.instruct_score], ['fluency', g.fluency_score], ['harmonic', g.harmonic],
          ['trait', g.trait_score], ['coherence', g.coherence]].filter(function (p) { return typeof p[1] === 'number'; })
          .map(function (p) { return p[0] + ' ' + p[1].toFixed(2); }).join(' · ');
      }
      function render() {
        const chosen = gens.filter(function (g) { return selects.every(function (s) { return !s.value || key[s.dataset.key](g) === s.value; }); });
        box.textContent = '';
        chosen.slice(0, 500).forEach(function (g) {
          const div = el('div', 'gen');
          div.appendChild(el('div', null, key.unit(g) + ' · ' + label(g) + ' · factor ' + g.factor + ' · ' + g.split));
          div.appendChild(el('div', 'ins', g.instruction));
          const pair = el('div', 'pair'), left = el('div'), right = el('div');
          left.appendChild(el('div', 'scores', label(g)));
          left.appendChild(document.createTextNode(g.response));
          left.appendChild(el('div', 'scores', scores(g)));
          right.appendChild(el('div', 'scores', 'none (unsteered)'));
          const plain = unsteered[key.unit(g) + '|' + g.instruction];
          right.appendChild(document.createTextNode(plain ? plain.response : '(no unsteered answer)'));
          if (plain) right.appendChild(el('div', 'scores', scores(plain)));
          pair.appendChild(left); pair.appendChild(right); div.appendChild(pair); box.appendChild(div);
        });
        count.textContent = chosen.length + ' generations' + (chosen.length > 500 ? ' (the first 500 shown)' : '');
      }
      ['tradeoff', 'utility'].forEach(function (id) {
        const plot = document.getElementById(id);
        if (plot) plot.addEventListener('click', function (ev) {
          const p = ev.target.closest('circle.pt'); if (!p) return;
          selects.forEach(function (s) { s.value = s.dataset.key === 'method' ? p.dataset.method : s.dataset.key === 'factor' ? p.dataset.factor : ''; });
          render(); document.getElementById('filters').scrollIntoView();
        });
      });
      render();
    })();
    """
}

extension BenchReportPage {
  /// Writes `directory`/report.html from its results.json and generations.jsonl; with `tokenText`,
  /// also the gate activity (first `examples` examples) of each unit folder under
  /// `directory`/units that holds a capture.h5 and a psr.json.
  public static func write(directory: String, tokenText: ((Int) -> String)?, examples: Int = 3) throws {
    let results = try BenchResults.load(directory + "/results.json")
    guard let data = FileManager.default.contents(atPath: directory + "/generations.jsonl") else {
      throw ReportError.unreadable("cannot read \(directory)/generations.jsonl")
    }
    let decoder = JSONDecoder()
    let generations = try data.split(separator: UInt8(ascii: "\n")).map { line in
      do { return try decoder.decode(GenerationRecord.self, from: Data(line)) } catch {
        throw ReportError.unreadable("\(directory)/generations.jsonl holds a line that is not a generation: \(error)")
      }
    }
    var captures: [(unit: String, report: CaptureReport)] = []
    var unshown: [(unit: String, reason: String)] = []
    if let tokenText {
      for unit in results.units {
        let folder = "\(directory)/units/\(unit.bench)-\(unit.unitID)"
        let capture = folder + "/capture.h5"
        let gate = folder + "/psr.json"
        guard FileManager.default.fileExists(atPath: capture), FileManager.default.fileExists(atPath: gate) else { continue }
        let name = "\(unit.bench)-\(unit.unitID) (\(unit.name))"
        // A unit's gate activity is an extra: a capture that cannot be shown (no example, a
        // non-finite value) is named on the page instead of costing the run its report.
        do {
          let report = try CaptureReport(
            reader: try ActivationReader(path: capture), files: [("psr", try SteeringFile.load(gate))], tokenText: tokenText,
            maxExamples: examples, scatterPoints: 500)
          captures.append((name, report))
        } catch { unshown.append((name, "\(error)")) }
      }
    }
    let html = try Self.html(results: results, generations: generations, captures: captures, unshown: unshown)
    try Data(html.utf8).write(to: URL(fileURLWithPath: directory + "/report.html"), options: .atomic)
  }
}
