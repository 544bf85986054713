import Foundation

/// The process's peak resident memory (VmHWM) in MB, for the summaries of long commands; 0
/// where /proc is not readable.
public func peakResidentMegabytes() -> Int {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
  for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    let kb = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    return kb / 1024
  }
  return 0
}
