import Foundation

/// Reads a text file named by an option, with an error that says what is wrong with it: missing,
/// a directory, unreadable, or not UTF-8 (one message for all four sent people hunting).
public func readText(_ path: String, _ flag: String) throws -> String {
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
    throw CLIError("\(flag) \(path): no such file")
  }
  guard !isDirectory.boolValue else { throw CLIError("\(flag) \(path) is a directory; give a file") }
  guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(flag) \(path): the file cannot be read") }
  guard let text = String(validating: data, as: UTF8.self) else {
    throw CLIError("\(flag) \(path) is not UTF-8 text")
  }
  return text
}
