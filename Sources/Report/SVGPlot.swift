import Foundation

/// Plain SVG plots, drawn here so that a report needs no library.
enum SVGPlot {
  /// The ends of an axis that holds `values` with a little room, never of zero length.
  static func range(_ values: [Double]) -> (Double, Double) {
    let finite = values.filter(\.isFinite)
    guard var lo = finite.min(), var hi = finite.max() else { return (0, 1) }
    if hi - lo < 1e-9 {
      lo -= 0.5
      hi += 0.5
    }
    let pad = (hi - lo) * 0.05
    return (lo - pad, hi + pad)
  }

  /// A scatter of (x, y) points with labelled axes; each point's `<title>` holds its values.
  static func scatter(x: [Double], y: [Double], xLabel: String, yLabel: String, title: String, colour: String = "#1f77b4") -> String {
    let (w, h, left, right, top, bottom) = (560.0, 380.0, 64.0, 16.0, 30.0, 48.0)
    let (x0, x1) = range(x)
    let (y0, y1) = range(y)
    func px(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * (w - left - right) }
    func py(_ v: Double) -> Double { h - bottom - (v - y0) / (y1 - y0) * (h - top - bottom) }
    var svg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-size=\"11\">\n"
    svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    svg += axes(w: w, h: h, left: left, right: right, top: top, bottom: bottom)
    for k in 0...4 {
      let vx = x0 + (x1 - x0) * Double(k) / 4
      let vy = y0 + (y1 - y0) * Double(k) / 4
      svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>", px(vx), h - bottom + 14, vx)
      svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", left - 6, py(vy) + 4, vy)
    }
    svg += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 10)\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>\n"
    svg += "<text transform=\"translate(14 \((top + h - bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">\(HTML.escape(yLabel))</text>\n"
    svg += "<text x=\"\(left)\" y=\"18\" font-size=\"13\">\(HTML.escape(title))</text>\n"
    for (a, b) in zip(x, y) where a.isFinite && b.isFinite {
      svg += String(
        format:
          "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"%@\" fill-opacity=\"0.5\"><title>%.4g, %.4g</title></circle>\n",
        px(a),
        py(b), colour, a, b)
    }
    return svg + "</svg>\n"
  }

  static func axes(w: Double, h: Double, left: Double, right: Double, top: Double, bottom: Double) -> String {
    "<line x1=\"\(left)\" y1=\"\(h - bottom)\" x2=\"\(w - right)\" y2=\"\(h - bottom)\" stroke=\"black\"/>"
      + "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(h - bottom)\" stroke=\"black\"/>\n"
  }
}
