import Foundation

/// report.md and tradeoff.svg from results.
public enum BenchReport {
  static func f(_ v: Double?, _ digits: Int = 3) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "–" }

  /// A 95% half-width, or "–" where one unit gives no interval.
  static func ci(_ halfWidth: Double, units: Int, _ digits: Int = 3) -> String { units < 2 ? "–" : f(halfWidth, digits) }

  /// A warning for a run below the paper protocol's sizes (the small budget, say): its intervals are
  /// as wide as the scores, so an order of methods it shows is noise. nil for a paper-sized run.
  public static func smokeTestNote(_ results: BenchResults) -> String? {
    let paper = BenchConfig.paper
    let c = results.config
    let benches = Set(results.units.map(\.bench))
    let tokens = c["eval_tokens"].flatMap { Int($0) } ?? paper.evalTokens
    // Per bench present: (what, this run's count, the paper protocol's count).
    var sizes: [(String, Int, Int)] = []
    if benches.contains(.axbench) {
      sizes.append(("AxBench instructions", c["eval_instructions"].flatMap { Int($0) } ?? paper.evalInstructions, paper.evalInstructions))
    }
    if benches.contains(.persona) {
      sizes.append(
        ("persona questions", c["persona_eval_questions"].flatMap { Int($0) } ?? paper.personaEvalQuestions, paper.personaEvalQuestions))
    }
    if benches.contains(.ifeval) {
      // The paper protocol uses every prompt of an instruction (5 to 19).
      sizes.append(("IFEval prompts", c["ifeval_prompts"].flatMap { Int($0) } ?? paper.ifevalPrompts, 5))
    }
    guard tokens < paper.evalTokens || sizes.contains(where: { $0.1 < $0.2 }) else { return nil }
    let used = sizes.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
    let protocolSizes = sizes.map { "\($0.2)" }.joined(separator: ", ")
    return
      "Smoke test, not a measurement: this run used \(used) per unit, answered in \(tokens) tokens, over \(results.units.count) units, fewer than the paper protocol (\(protocolSizes); \(paper.evalTokens) tokens). Its 95% intervals are about as wide as the scores, so the order of the methods below (none above prompt, say) is noise. Run --budget paper to measure."
  }

  /// `timings` are the units' method timings, keyed by bench, so that each bench's table
  /// shows its own speeds.
  public static func markdown(_ results: BenchResults, timings: [String: [MethodTiming]]) -> String {
    var out =
      "# Steering benchmark\n\nSettings: "
      + results.config.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "\n"
    if let note = smokeTestNote(results) { out += "\n> **\(note)**\n" }
    /// Generation tokens/s (wall, including judging), mean decode overhead and mean training
    /// seconds per unit, of one method on one bench.
    func rate(_ m: String, _ bench: String) -> (String, String, String) {
      let rows = (timings[bench] ?? []).filter { $0.method == m }
      let seconds = rows.reduce(0) { $0 + $1.generateSeconds }
      guard seconds > 0 else { return ("–", "–", "–") }
      let tps = Double(rows.reduce(0) { $0 + $1.generatedTokens }) / seconds
      let overheads = rows.compactMap(\.overheadPercent)
      let overhead = overheads.isEmpty ? "–" : String(format: "%.2f%%", overheads.reduce(0, +) / Double(overheads.count))
      let train = rows.reduce(0) { $0 + $1.trainSeconds } / Double(rows.count)
      return (String(format: "%.0f", tps), overhead, String(format: "%.0f", train))
    }
    let axbench = results.summary.filter { $0.bench == .axbench }
    if !axbench.isEmpty {
      out += "\n## AxBench (scores 0–2; mean ± 95% CI over concepts)\n\n"
      out +=
        "| method | concepts | concept | instruct | fluency | harmonic | gen tok/s (wall, incl. judging) | decode overhead | train s / concept |\n|---|---|---|---|---|---|---|---|---|\n"
      for r in axbench.sorted(by: { ($0.harmonic ?? 0) > ($1.harmonic ?? 0) }) {
        let (tps, overhead, train) = rate(r.method, "axbench")
        let scores = results.units.filter { $0.bench == .axbench }.compactMap { u in u.methods.first { $0.label == r.label }?.score }
        let ci = { (k: KeyPath<ScoreSummary, Double?>) in
          let values = scores.compactMap { $0[keyPath: k] }
          return Self.ci(Statistics.ci95(values), units: values.count)
        }
        out += "| \(r.label) | \(r.nUnits) | \(f(r.conceptScore)) ± \(ci(\.conceptScore)) | \(f(r.instructScore)) ± \(ci(\.instructScore))"
        out +=
          " | \(f(r.fluencyScore)) ± \(ci(\.fluencyScore)) | \(f(r.harmonic)) ± \(Self.ci(r.ci95, units: r.nUnits)) | \(tps) | \(overhead) | \(train) |\n"
      }
      out +=
        "\nSteered methods use the factor chosen on the selection instructions and are scored on the test instructions; `@trained` rows are jointly trained vectors at their trained α, without selection. Decode overhead is the time spent inside the intervention per generated token, over the rest of the decode time (8 streams × 16 tokens); train s / concept is the mean time to fit the method, including the capture it shares.\n"
      out += pairedTable(results, bench: .axbench, score: \.harmonic, name: "harmonic", digits: 3)
    }
    let persona = results.summary.filter { $0.bench == .persona }
    if !persona.isEmpty {
      out +=
        "\n## Persona (scores 0–100; mean over traits)\n\n| method | traits | trait at matched coherence (± 95% CI) | coherence | trait at coherence 80 (TA@C80) | coherence there | trait at factor 1 | coherence at factor 1 | gen tok/s (wall, incl. judging) | train s / trait |\n|---|---|---|---|---|---|---|---|---|---|\n"
      for r in persona.sorted(by: { ($0.traitScore ?? 0) > ($1.traitScore ?? 0) }) {
        let at1 = results.units.filter { $0.bench == .persona }.compactMap { u in u.methods.first { $0.label == r.label }?.atUnitFactor }
        let t1 = at1.isEmpty ? nil : at1.compactMap(\.traitScore).reduce(0, +) / Double(at1.count)
        let c1 = at1.isEmpty ? nil : at1.compactMap(\.coherence).reduce(0, +) / Double(at1.count)
        let (tps, _, train) = rate(r.method, "persona")
        let at80 = results.units.filter { $0.bench == .persona }.compactMap { u in u.methods.first { $0.label == r.label }?.atCoherence80 }
        let t80 = at80.isEmpty ? nil : at80.compactMap(\.traitScore).reduce(0, +) / Double(at80.count)
        let c80 = at80.isEmpty ? nil : at80.compactMap(\.coherence).reduce(0, +) / Double(at80.count)
        out +=
          "| \(r.label) | \(r.nUnits) | \(f(r.traitScore, 1)) ± \(Self.ci(r.ci95, units: r.nUnits, 1)) | \(f(r.coherence, 1)) | \(f(t80, 1)) | \(f(c80, 1)) | \(f(t1, 1)) | \(f(c1, 1)) | \(tps) | \(train) |\n"
      }
      out +=
        "\nSteered methods' factor is bisected against prompting's coherence (TA@Cp): the largest factor tried that keeps at least prompting's coherence, else the one closest to it. TA@C80 is the same search against a coherence of 80 (the PSR paper's second operating point).\n"
      out += pairedTable(results, bench: .persona, score: \.traitScore, name: "trait score", digits: 1)
    }
    out += ifevalSection(results, rate: rate)
    out += utilitySection(results)
    if !axbench.isEmpty { out += "\nThe trade-off of concept score against fluency across factors is plotted in tradeoff.svg.\n" }
    return out
  }

  /// AxBench's operating points: robustness to a suppressing prompt against utility (GSM8K and the
  /// reference answers' NLL), per method and factor, with the plot.
  static func utilitySection(_ results: BenchResults) -> String {
    guard let rows = results.operatingPoints, !rows.isEmpty else { return "" }
    var out = "\n## Utility and robustness (AxBench; mean over concepts)\n\n"
    out += "| operating point | concepts | suppressed harmonic (0–2) | GSM8K % | GSM8K vs none | reference NLL | vs none |\n"
    out += "|---|---|---|---|---|---|---|\n"
    for r in rows {
      out += "| \(r.label) | \(r.nUnits) | \(f(r.suppressedHarmonic)) ± \(ci(r.suppressedCI95, units: r.nUnits)) | \(f(r.gsm8kAccuracy, 1))"
      out += " | \(r.gsm8kRelative.map { String(format: "%.0f%%", $0) } ?? "–") | \(f(r.referenceNLL)) | \(r.referenceNLLIncrease.map { String(format: "%+.3f", $0) } ?? "–") |\n"
    }
    let problems = results.config["gsm8k_problems"] ?? "?", answers = results.config["reference_answers"] ?? "?"
    out += "\nSteered methods at their selected factor; `@trained` at the trained α, FSSV also at 80% and 50% of it. "
    out += "Suppressed: each test instruction rewritten to ask the model to avoid the concept, steered toward it, judged with AxBench's "
    out += "rubric (instruction relevance against the original instruction); prompting puts the steering prompt before it. "
    out += "GSM8K: \(problems) test problems, greedy, lm-eval's flexible extraction. Reference NLL: nats per token of \(answers) "
    out += "AlpacaEval GPT-4 answers, teacher-forced under the steering (lower is better; `vs none` is the increase).\n\n"
    out += "![Robustness against utility](utility.svg)\n"
    return out
  }

  /// `text` safe inside SVG text and attributes (a method name is the user's, from --steer).
  static func xmlEscape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  /// Robustness (suppressed harmonic) against utility: GSM8K accuracy (left) and the reference
  /// answers' NLL increase over `none` (right), one labelled point per operating point.
  /// With `id`, the `<svg>` carries it and each point is a `circle.pt` with `data-method`, which
  /// report.html's script turns into a filter of its generations browser.
  public static func utilitySVG(_ results: BenchResults, id: String? = nil) -> String? {
    guard let rows = results.operatingPoints, !rows.isEmpty else { return nil }
    let panel = 380.0, h = 400.0, left = 56.0, bottom = 50.0, top = 36.0, right = 20.0
    let ys = rows.map(\.suppressedHarmonic)
    let yMax = max(0.1, (ys.max() ?? 0) * 1.15)
    var svg =
      "<svg \(id.map { "id=\"\($0)\" " } ?? "")xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(2 * panel))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"11\">\n"
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    svg += "<text x=\"\(left)\" y=\"16\" font-size=\"13\">Robustness (suppressed prompts) against utility, mean over concepts</text>\n"
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
    for (k, (label, xs)) in [
      ("GSM8K accuracy (%)", rows.map { $0.gsm8kAccuracy ?? 0 }), ("reference NLL increase over none (nats/token)", rows.map { $0.referenceNLLIncrease ?? 0 }),
    ].enumerated() {
      let x0 = Double(k) * panel
      var lo = xs.min() ?? 0, hi = xs.max() ?? 1
      if k == 0 {
        // Accuracy: from 0, and at least to 10% so that a model that solves nothing reads as such.
        lo = 0
        hi = max(10, hi * 1.1)
      } else {
        if hi - lo < 1e-9 {
          lo -= 0.5
          hi += 0.5
        }
        let pad = (hi - lo) * 0.08
        lo -= pad
        hi += pad
      }
      func px(_ v: Double) -> Double { x0 + left + (v - lo) / (hi - lo) * (panel - left - right) }
      func py(_ v: Double) -> Double { h - bottom - v / yMax * (h - bottom - top) }
      svg += "<line x1=\"\(x0 + left)\" y1=\"\(py(0))\" x2=\"\(x0 + panel - right)\" y2=\"\(py(0))\" stroke=\"black\"/>"
      svg += "<line x1=\"\(x0 + left)\" y1=\"\(py(0))\" x2=\"\(x0 + left)\" y2=\"\(py(yMax))\" stroke=\"black\"/>\n"
      for t in 0...4 {
        let vx = lo + (hi - lo) * Double(t) / 4, vy = yMax * Double(t) / 4
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>", px(vx), h - bottom + 15, vx)
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", x0 + left - 5, py(vy) + 4, vy)
      }
      svg += "<text x=\"\(x0 + (left + panel - right) / 2)\" y=\"\(h - 12)\" text-anchor=\"middle\">\(label)</text>\n"
      svg +=
        "<text transform=\"translate(\(x0 + 14) \((top + h - bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">suppressed harmonic (0–2)</text>\n"
      // Points that land on or near the same spot share one label, and labels near the right edge go left.
      var labels: [String: (x: Double, y: Double, names: [String], colour: String)] = [:]
      var order: [String] = []
      for (i, r) in rows.enumerated() {
        let colour = colours[i % colours.count]
        // A label within a few pixels of an earlier one joins it.
        let near = order.first { abs(labels[$0]!.x - px(xs[i])) < 45 && abs(labels[$0]!.y - py(r.suppressedHarmonic)) < 10 }
        let key = near ?? String(format: "%.0f,%.0f", px(xs[i]), py(r.suppressedHarmonic))
        if labels[key] == nil {
          order.append(key)
          labels[key] = (px(xs[i]), py(r.suppressedHarmonic), [], colour)
        }
        labels[key]!.names.append(xmlEscape(r.label))
        svg += String(
          format:
            "<circle%@ cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\"><title>%@: suppressed %.3f, GSM8K %.1f%%, NLL %.3f</title></circle>",
          id == nil
            ? ""
            : " class=\"pt\" data-method=\"\(xmlEscape(r.label))\" data-factor=\"\"",
          px(xs[i]), py(r.suppressedHarmonic), colour, xmlEscape(r.label), r.suppressedHarmonic, r.gsm8kAccuracy ?? 0, r.referenceNLL)
      }
      // Labels that would overlap an earlier one move up a line (about 6 px a character at 11 px).
      var placed: [(lo: Double, hi: Double, y: Double)] = []
      for key in order {
        let l = labels[key]!
        let text = l.names.joined(separator: ", ")
        let width = 6.2 * Double(text.count)
        let right = l.x > x0 + panel * 0.6
        let (lo, hi) = right ? (l.x - 6 - width, l.x - 6) : (l.x + 6, l.x + 6 + width)
        var y = l.y - 6
        for _ in 0..<6 where placed.contains(where: { $0.lo < hi && lo < $0.hi && abs($0.y - y) < 11 }) { y -= 12 }
        placed.append((lo, hi, y))
        svg += String(
          format: "<text x=\"%.1f\" y=\"%.1f\" fill=\"%@\" text-anchor=\"%@\">%@</text>\n", right ? l.x - 6 : l.x + 6, y, l.colour,
          right ? "end" : "start", text)
      }
    }
    return svg + "</svg>\n"
  }

  /// Each method's score minus prompting's on the same units: the mean difference with its
  /// paired 95% t-interval, and on how many units the method is above, level with or below.
  /// Pairing removes the units' shared difficulty, which dominates the per-method intervals.
  static func pairedTable(
    _ results: BenchResults, bench: Benchmark, score: KeyPath<ScoreSummary, Double?>, name: String, digits: Int
  ) -> String {
    let units = results.units.filter { $0.bench == bench }
    func value(_ u: UnitResult, _ label: String) -> Double? { u.methods.first { $0.label == label }?.score[keyPath: score] }
    let methods = results.summary.filter { $0.bench == bench && $0.method != "prompt" }.map(\.label)
    var rows: [(method: String, mean: Double, line: String)] = []
    for m in methods {
      let d = units.compactMap { u in value(u, "prompt").flatMap { p in value(u, m).map { $0 - p } } }
      guard !d.isEmpty else { continue }
      let mean = d.reduce(0, +) / Double(d.count)
      let above = d.filter { $0 > 0 }.count
      let below = d.filter { $0 < 0 }.count
      rows.append(
        (
          m, mean,
          "| \(m) | \(d.count) | \(f(mean, digits)) ± \(ci(Statistics.ci95(d), units: d.count, digits)) | \(above) / \(d.count - above - below) / \(below) |\n"
        ))
    }
    guard !rows.isEmpty else { return "" }
    return
      "\nPaired against prompting (\(name), method − prompt on the same units):\n\n| method | units | difference ± 95% CI | above / level / below |\n|---|---|---|---|\n"
      + rows.sorted { $0.mean > $1.mean }.map(\.line).joined()
  }

  /// Concept score (y) against fluency (x) per factor, averaged over concepts, one line per method.
  public static func tradeoffSVG(_ results: BenchResults) -> String {
    let series = TradeoffSeries(results)
    let w = 640.0
    let h = 420.0
    let left = 60.0
    let bottom = 50.0
    let top = 30.0
    let right = 150.0
    func x(_ v: Double) -> Double { left + v / 2 * (w - left - right) }
    func y(_ v: Double) -> Double { h - bottom - v / 2 * (h - bottom - top) }
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]
    var svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    svg +=
      "<line x1=\"\(x(0))\" y1=\"\(y(0))\" x2=\"\(x(2))\" y2=\"\(y(0))\" stroke=\"black\"/><line x1=\"\(x(0))\" y1=\"\(y(0))\" x2=\"\(x(0))\" y2=\"\(y(2))\" stroke=\"black\"/>\n"
    for t in [0.0, 0.5, 1, 1.5, 2] {
      svg +=
        "<text x=\"\(x(t))\" y=\"\(y(0) + 16)\" text-anchor=\"middle\">\(t)</text><text x=\"\(x(0) - 8)\" y=\"\(y(t) + 4)\" text-anchor=\"end\">\(t)</text>\n"
    }
    svg += "<text x=\"\((x(0) + x(2)) / 2)\" y=\"\(h - 12)\" text-anchor=\"middle\">fluency score (0–2)</text>\n"
    svg += "<text transform=\"translate(16 \((y(0) + y(2)) / 2)) rotate(-90)\" text-anchor=\"middle\">concept score (0–2)</text>\n"
    svg += "<text x=\"\(x(0))\" y=\"18\">Concept vs fluency across steering factors (mean over concepts)</text>\n"
    for (i, (method, line)) in series.lines.enumerated() {
      let colour = colours[i % colours.count]
      let points = line.map { (x($0.fluency), y($0.concept), $0.factor) }
      svg +=
        "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\""
        + points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ") + "\"/>\n"
      for p in points {
        svg += String(
          format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"><title>%@ factor %g</title></circle>\n", p.0, p.1, colour, method,
          p.2)
      }
      svg +=
        "<rect x=\"\(w - right + 15)\" y=\"\(top + Double(i) * 20)\" width=\"12\" height=\"12\" fill=\"\(colour)\"/><text x=\"\(w - right + 32)\" y=\"\(top + Double(i) * 20 + 10)\">\(method)</text>\n"
    }
    return svg + "</svg>\n"
  }

  /// IFEval: accuracy (strict, loose) and coherence per method, each steered method with the
  /// instruction kept in the prompt (`+prompt`), accuracy at the trained factor, the pairs against
  /// prompting, and a row per instruction.
  static func ifevalSection(_ results: BenchResults, rate: (String, String) -> (String, String, String)) -> String {
    let rows = results.summary.filter { $0.bench == .ifeval }
    guard !rows.isEmpty else { return "" }
    let units = results.units.filter { $0.bench == .ifeval }
    var out =
      "\n## IFEval (% of answers following the instruction, by IFEval's checkers; coherence 0–100; mean ± 95% CI over instructions)\n\n"
    out +=
      "| method | instructions | strict | loose | coherence | strict at factor 1 | gen tok/s (wall, incl. judging) | train s / instruction |\n|---|---|---|---|---|---|---|---|\n"
    for r in rows.sorted(by: { ($0.ifStrict ?? 0) > ($1.ifStrict ?? 0) }) {
      let scores = units.compactMap { u in u.methods.first { $0.label == r.label } }
      let ci = { (k: KeyPath<ScoreSummary, Double?>) in
        let values = scores.compactMap { $0.score[keyPath: k] }
        return Self.ci(Statistics.ci95(values), units: values.count, 1)
      }
      let atOne = scores.compactMap { $0.atUnitFactor?.ifStrict }
      let (tps, _, train) = rate(r.method, "ifeval")
      out += "| \(r.label) | \(r.nUnits) | \(f(r.ifStrict, 1)) ± \(ci(\.ifStrict)) | \(f(r.ifLoose, 1)) ± \(ci(\.ifLoose)) | "
      out += "\(f(r.coherence, 1)) ± \(ci(\.coherence)) | \(atOne.isEmpty ? "–" : f(atOne.reduce(0, +) / Double(atOne.count), 1)) | \(tps) | \(train) |\n"
    }
    out +=
      "\nSteered rows answer the query without its instruction (steering instead of the prompt); `+prompt` rows answer the prompt with its instruction while steered (steering with the prompt); `prompt` answers the prompt unsteered. A steered method's factor is the one with the best strict accuracy on the selection prompts among those at least as coherent as prompting, scored on the test prompts; \"strict at factor 1\" is the test accuracy at the fitted or trained strength.\n"
    out += pairedTable(results, bench: .ifeval, score: \.ifStrict, name: "strict accuracy", digits: 1)
    let methods = rows.map(\.label).sorted()
    out += "\nPer instruction (strict accuracy on the test prompts, %):\n\n| instruction | " + methods.joined(separator: " | ") + " |\n|---|"
    out += String(repeating: "---|", count: methods.count) + "\n"
    for u in units {
      out += "| \(u.name) | " + methods.map { m in f(u.methods.first { $0.label == m }?.score.ifStrict, 1) }.joined(separator: " | ") + " |\n"
    }
    return out
  }
}
