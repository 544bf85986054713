import Foundation

/// `psr report`'s page: a capture's tokens coloured by ‖Δ‖ at a chosen layer, the per-layer
/// summary, and each PSR gate's coefficient against the projection of Δ on its direction.
public enum CaptureReportPage {
  /// The whole page.
  public static func html(_ report: CaptureReport) throws -> String {
    let title = "What the prompt does, token by token: \(URL(fileURLWithPath: report.capture).lastPathComponent)"
    var body = "<h1>\(HTML.escape(title))</h1>\n"
    body += try section(report, id: "capture")
    return HTML.page(title: title, body: body, script: script)
  }

  /// One capture's sections, with its data embedded under `id` (a page may hold several).
  static func section(_ report: CaptureReport, id: String, examplesHeading: String = "Tokens") throws -> String {
    let layer = report.layers.first ?? 0
    let scale = report.summaries.first { $0.layer == layer }?.colourScale ?? 1
    var out = "<section class=\"capture\" data-src=\"\(id)\">\n"
    out += "<p class=\"meta\">Model \(HTML.escape(report.modelName)); \(report.exampleCount) examples"
    out += report.examples.count < report.exampleCount ? " (the first \(report.examples.count) shown)" : ""
    out += "; steering prompt: <q>\(HTML.escape(report.steeringPrompt))</q>"
    out += report.files.isEmpty ? ".</p>\n" : "; steering files: \(report.files.map(HTML.escape).joined(separator: ", ")).</p>\n"
    out += summaryTable(report)
    out += "<h2>\(HTML.escape(examplesHeading))</h2>\n"
    out += "<div class=\"controls\"><label>Layer <select class=\"layer\">"
    for l in report.layers { out += "<option value=\"\(l)\"\(l == layer ? " selected" : "")>\(l)</option>" }
    out += "</select></label> <span class=\"meta\">colour: ‖Δ‖, white 0 to red at the layer's 99th percentile"
    out += " (\(String(format: "%.3g", scale)) at layer \(layer)); hover or tap a token for its values</span></div>\n"
    for (e, example) in report.examples.enumerated() {
      out +=
        "<div class=\"ex\" data-e=\"\(e)\"><div class=\"ins\">#\(example.index) \(HTML.escape(example.instruction))</div><div class=\"toks\">"
      let values = example.layers[String(layer)]
      for (t, token) in example.tokens.enumerated() {
        let norm = Double(values?.norm[t] ?? 0)
        let cosine = Double(values?.cosine[t] ?? 0)
        var tip = String(format: "id %d · ‖Δ‖ %.4g · cos %.3f", token.id, norm, cosine)
        for file in report.files {
          if let c = example.coefficients[file]?[String(layer)]?[t] { tip += String(format: " · %@ %.4g", HTML.escape(file), Double(c)) }
        }
        let alpha = scale > 0 ? min(1, norm / scale) : 0
        out += String(format: "<span class=\"t\" data-i=\"%d\" style=\"background:rgba(214,39,40,%.3f)\" title=\"%@\">", t, alpha, tip)
        out += HTML.escape(token.text) + "</span>"
      }
      out += "</div></div>\n"
    }
    if !report.scatters.isEmpty {
      out += "<h2>Gates: coefficient against the projection of Δ on z</h2>\n"
      out += "<p class=\"meta\">Per token, x = Δ·z/‖z‖² (the coefficient that would fit Δ best along the gate's direction) and"
      out += " y = α·ReLU(w·h + b) (the one the gate applies). A gate that replaces the prompt well puts the points on the diagonal; a"
      out += " constant vector would be a horizontal line.</p>\n"
      for s in report.scatters {
        out += SVGPlot.scatter(
          x: s.projection.map(Double.init), y: s.coefficient.map(Double.init), xLabel: "Δ·z / ‖z‖²", yLabel: "α·λ (the gate's coefficient)",
          title: "\(s.file), layer \(s.layer): \(s.projection.count) tokens")
      }
    }
    out += try HTML.jsonScript(report, id: id)
    return out + "</section>\n"
  }

  static func summaryTable(_ report: CaptureReport) -> String {
    var out = "<h2>Per layer</h2>\n<table><tr><th>layer</th><th>tokens</th><th>mean ‖Δ‖</th><th>share of ‖Δ‖² in the top 10% of tokens</th>"
    for f in report.files { out += "<th>\(HTML.escape(f)): relative MSE</th>" }
    out += "</tr>\n"
    for s in report.summaries {
      out += String(format: "<tr><td>%d</td><td>%d</td><td>%.4g</td><td>%.1f%%</td>", s.layer, s.tokens, s.meanNorm, s.topDecileShare * 100)
      for f in report.files { out += s.relativeMSE[f].map { String(format: "<td>%.4f</td>", $0) } ?? "<td>–</td>" }
      out += "</tr>\n"
    }
    out += "</table>\n<p class=\"meta\">The top-10% share is the paper's \"strong on some tokens\" measured: 10% if every token"
    out += " moved alike, near 100% if a few carry the effect. Relative MSE = Σ‖Δ − prediction‖² / Σ‖Δ‖² over every token"
    out += " (1 = no better than no steering).</p>\n"
    return out
  }

  /// Recolours a capture's tokens when its layer changes, and shows a token's values on hover or tap.
  static let script = """
    (function () {
      const tip = document.getElementById('tip');
      function fmt(v) { return typeof v === 'number' ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4)) : String(v); }
      document.querySelectorAll('section.capture').forEach(function (section) {
        const data = JSON.parse(document.getElementById(section.dataset.src).textContent);
        const select = section.querySelector('select.layer');
        function layer() { return select ? select.value : String(data.layers[0]); }
        function scale(l) { const s = data.summaries.find(function (x) { return String(x.layer) === l; }); return s && s.colourScale > 0 ? s.colourScale : 1; }
        function recolour() {
          const l = layer(), k = scale(l);
          section.querySelectorAll('.ex').forEach(function (ex) {
            const values = data.examples[+ex.dataset.e].layers[l];
            ex.querySelectorAll('.t').forEach(function (span, i) {
              span.style.background = 'rgba(214,39,40,' + Math.min(1, values.norm[i] / k).toFixed(3) + ')';
            });
          });
        }
        function show(span, event) {
          const e = data.examples[+span.closest('.ex').dataset.e], i = +span.dataset.i, l = layer(), tok = e.tokens[i];
          const lines = ['text ' + JSON.stringify(tok.text), 'id ' + tok.id, 'layer ' + l,
            '‖Δ‖ ' + fmt(e.layers[l].norm[i]), 'cos(Δ, mean Δ) ' + fmt(e.layers[l].cosine[i])];
          data.files.forEach(function (f) {
            const c = e.coefficients[f] && e.coefficients[f][l];
            lines.push(f + ': ' + (c ? fmt(c[i]) : 'acts at another layer'));
          });
          tip.textContent = lines.join('\\n');
          tip.hidden = false;
          tip.style.left = Math.min(event.clientX + 12, window.innerWidth - 260) + 'px';
          tip.style.top = (event.clientY + 14) + 'px';
        }
        if (select) select.addEventListener('change', recolour);
        section.addEventListener('mouseover', function (ev) { if (ev.target.classList.contains('t')) show(ev.target, ev); });
        section.addEventListener('click', function (ev) { if (ev.target.classList.contains('t')) show(ev.target, ev); });
        section.addEventListener('mouseout', function (ev) { if (ev.target.classList.contains('t')) tip.hidden = true; });
        recolour();
      });
      // Reached only when every script of the page ran without an error (scripts/check-report.sh).
      document.body.setAttribute('data-js', 'ok');
    })();
    """
}
