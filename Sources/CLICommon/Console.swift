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

  /// Redraws the bar at `done` of `total`, with free text after it and an ETA. `resumed` of
  /// the `done` items were finished by an earlier run: they count toward the bar but not
  /// toward the rate, so a resumed run does not promise an ETA it cannot keep.
  public func update(_ done: Int, resumed: Int = 0, _ detail: String = "") {
    let width = 30
    // Clamped: a caller past its total (or a total of 0) must not ask for a negative repeat count.
    let filled = total > 0 ? min(width, max(0, done) * width / total) : width
    let eta = Self.estimate(elapsed: Date().timeIntervalSince(start), done: done, resumed: resumed, total: total)
    let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
    let line = String(format: "\r%@ [%@] %d/%d %@  eta %@", label, bar, done, total, detail, eta.map(Self.clock) ?? "-:--")
    FileHandle.standardError.write(Data(line.utf8))
  }

  /// Seconds left: the rate of the items finished in this run (`done − resumed` in `elapsed`
  /// seconds) applied to the `total − done` still to do; nil before this run finishes one.
  public static func estimate(elapsed: Double, done: Int, resumed: Int, total: Int) -> Double? {
    let worked = done - resumed
    if done >= total { return 0 }
    guard worked > 0 else { return nil }
    return elapsed / Double(worked) * Double(total - done)
  }

  /// Ends the bar's line.
  public func finish() { FileHandle.standardError.write(Data("\n".utf8)) }

  /// `m:ss`, or `h:mm:ss` from an hour on.
  public static func clock(_ seconds: Double) -> String {
    // A rate from a near-zero elapsed time can be ∞ or NaN; Int(_:) of either traps.
    guard seconds.isFinite, seconds < 1e9 else { return "-:--" }
    let s = max(0, Int(seconds.rounded()))
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
  }
}
