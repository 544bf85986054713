import Foundation

/// Progress and status lines go to standard error, so standard output stays parseable.
public func log(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A one-line progress bar on standard error, redrawn in place.
public struct ProgressBar {
  public let total: Int
  public let label: String
  private let start = Date()

  public init(total: Int, label: String) {
    self.total = total
    self.label = label
  }

  /// Redraws the bar at `done` of `total`, with free text after it and an ETA.
  public func update(_ done: Int, _ detail: String = "") {
    let width = 30
    let fraction = total > 0 ? Double(done) / Double(total) : 1
    let filled = Int(fraction * Double(width))
    let elapsed = Date().timeIntervalSince(start)
    let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
    let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
    let line = String(format: "\r%@ [%@] %d/%d %@  eta %@", label, bar, done, total, detail, Self.clock(eta))
    FileHandle.standardError.write(Data(line.utf8))
  }

  /// Ends the bar's line.
  public func finish() { FileHandle.standardError.write(Data("\n".utf8)) }

  static func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
  }
}
