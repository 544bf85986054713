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

  /// A plot's canvas: its size, margins and the data ranges its axes span.
  struct Frame {
    var width: Double
    var height: Double
    var left = 64.0
    var right = 16.0
    var top = 30.0
    var bottom = 48.0
    var x: (Double, Double)
    var y: (Double, Double)

    func px(_ v: Double) -> Double { left + (v - x.0) / (x.1 - x.0) * (width - left - right) }
    func py(_ v: Double) -> Double { height - bottom - (v - y.0) / (y.1 - y.0) * (height - top - bottom) }

    /// The `<svg>` opening, a white ground, both axes with five ticks each (`tick` formats a value)
    /// and their labels.
    func open(id: String? = nil, xLabel: String, yLabel: String, tick: String = "%.3g", fontSize: Int = 11) -> String {
      var svg = "<svg \(id.map { "id=\"\($0)\" " } ?? "")xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\""
      svg +=
        " width=\"\(Int(width))\" height=\"\(Int(height))\" font-size=\"\(fontSize)\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" stroke=\"black\"/>"
      svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\" stroke=\"black\"/>\n"
      for k in 0...4 {
        let vx = x.0 + (x.1 - x.0) * Double(k) / 4
        let vy = y.0 + (y.1 - y.0) * Double(k) / 4
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">\(tick)</text>", px(vx), height - bottom + 15, vx)
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">\(tick)</text>\n", left - 6, py(vy) + 4, vy)
      }
      svg += "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>\n"
      svg +=
        "<text transform=\"translate(14 \((top + height - bottom) / 2)) rotate(-90)\" text-anchor=\"middle\">\(HTML.escape(yLabel))</text>\n"
      return svg
    }
  }

  /// A scatter of (x, y) points with labelled axes; each point's `<title>` holds its values.
  static func scatter(x: [Double], y: [Double], xLabel: String, yLabel: String, title: String, colour: String = "#1f77b4") -> String {
    let frame = Frame(width: 560, height: 380, x: range(x), y: range(y))
    var svg = frame.open(xLabel: xLabel, yLabel: yLabel)
    svg += "<text x=\"\(frame.left)\" y=\"18\" font-size=\"13\">\(HTML.escape(title))</text>\n"
    for (a, b) in zip(x, y) where a.isFinite && b.isFinite {
      svg += String(
        format:
          "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"%@\" fill-opacity=\"0.5\"><title>%.4g, %.4g</title></circle>\n",
        frame.px(a), frame.py(b), colour, a, b)
    }
    return svg + "</svg>\n"
  }
}
