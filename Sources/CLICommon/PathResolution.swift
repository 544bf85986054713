import Foundation

/// Where a relative default path (the model, the judge's calibration and encoder, benchmark data)
/// is found: beside the working directory, else in the checkout that holds the executable (the
/// nearest ancestor of its real directory that has the path), so commands work from any directory.
/// A path found nowhere comes back unchanged, for the error to name.
public func resolvePath(_ path: String) -> String {
  if path.hasPrefix("/") || FileManager.default.fileExists(atPath: path) { return path }
  var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
  for _ in 0..<6 {
    let candidate = directory.appendingPathComponent(path).path
    if FileManager.default.fileExists(atPath: candidate) { return candidate }
    directory = directory.deletingLastPathComponent()
  }
  return path
}
