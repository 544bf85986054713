import Foundation

/// The pieces every report page is made of: escaping, embedded JSON, the page shell.
enum HTML {
  /// Text made safe inside elements and attribute values.
  static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in text.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }

  /// `value` as JSON inside `<script type="application/json" id=…>`: every `<` is written `\u003c`,
  /// so no string in it can close the element; keys sorted, so the same data give the same page.
  static func jsonScript<T: Encodable>(_ value: T, id: String) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let json = String(decoding: try encoder.encode(value), as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
    return "<script type=\"application/json\" id=\"\(id)\">\(json)</script>\n"
  }

  /// A whole self-contained page: no request leaves it (no links to fetch, all styles and scripts
  /// inline), and everything but the interactive parts reads without JavaScript.
  static func page(title: String, body: String, script: String) -> String {
    """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(escape(title))</title>
    <style>\(style)</style>
    </head>
    <body>
    \(body)
    <div id="tip" hidden></div>
    <script>\(script)</script>
    </body>
    </html>

    """
  }

  static let style = """
    body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; }
    h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; }
    table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
    th { background: #f4f4f4; } td.l, th.l { text-align: left; }
    .meta { color: #555; } .warning { background: #fff4d6; border-left: 4px solid #d99a00; padding: 6px 10px; } .controls { position: sticky; top: 0; background: #fff; padding: 6px 0; z-index: 2; }
    .ex { margin: 10px 0 16px; } .ins { font-weight: 600; margin-bottom: 4px; }
    .toks { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 13px; line-height: 1.9; }
    .t { border-radius: 2px; cursor: pointer; } .t:hover { outline: 1px solid #333; }
    #tip { position: fixed; background: #fff; border: 1px solid #888; padding: 6px 8px; font-size: 12px;
      box-shadow: 0 2px 6px rgba(0,0,0,.2); pointer-events: none; z-index: 5; white-space: pre; }
    .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; } .pair > div { border: 1px solid #ddd; padding: 6px; white-space: pre-wrap; }
    .gen { border-top: 1px solid #eee; padding: 8px 0; } .scores { color: #555; font-size: 12px; }
    svg { max-width: 100%; height: auto; } circle.pt:hover { stroke: #000; stroke-width: 2; }
    """
}
