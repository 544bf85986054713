import ArgumentParser
import Foundation

/// Argument checks for `validate()`: each failure is a `ValidationError` naming the flag and
/// what it needs, raised before any model loads.
public enum Check {
  /// `value` ≥ `minimum` (counts: 1 where zero means nothing to do, 0 where it is meaningful).
  public static func atLeast<T: Comparable>(_ value: T?, _ minimum: T, _ flag: String) throws {
    if let value, value < minimum { throw ValidationError("\(flag) must be at least \(minimum), not \(value)") }
  }

  /// `value` lies in `range`.
  public static func within<T: Comparable>(_ value: T?, _ range: ClosedRange<T>, _ flag: String) throws {
    if let value, !range.contains(value) {
      throw ValidationError("\(flag) must be in \(range.lowerBound)...\(range.upperBound), not \(value)")
    }
  }

  /// A file to write at the end of a long run: its directory exists and is writable, and the path
  /// is not a directory, so that a typo fails before the work rather than after it.
  public static func outputFile(_ path: String?, _ flag: String) throws {
    guard let path else { return }
    guard !path.isEmpty else { throw ValidationError("\(flag) is empty") }
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      throw ValidationError("\(flag) \(path) is a directory; give a file name")
    }
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard fm.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw ValidationError("\(flag) \(path): the directory \(parent) does not exist")
    }
    guard fm.isWritableFile(atPath: parent) else {
      throw ValidationError("\(flag) \(path): the directory \(parent) is not writable")
    }
  }

  /// A finite float, optionally within `range`.
  public static func finite<T: BinaryFloatingPoint>(_ value: T?, _ flag: String, in range: ClosedRange<T>? = nil) throws {
    guard let value else { return }
    guard value.isFinite else { throw ValidationError("\(flag) must be a finite number, not \(value)") }
    if let range, !range.contains(value) {
      throw ValidationError("\(flag) must be in [\(range.lowerBound), \(range.upperBound)], not \(value)")
    }
  }

  /// A comma-separated list, every entry parsed by `parse`; an empty list, a bad entry or one whose
  /// value repeats an earlier entry's is an error naming it (never dropped or merged: a repeated
  /// method would run twice, a repeated concept be silently counted once).
  public static func list<T: Hashable>(_ text: String, _ flag: String, expecting what: String, _ parse: (String) -> T?) throws -> [T] {
    let entries = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard !entries.allSatisfy(\.isEmpty) else { throw ValidationError("\(flag) is empty; give \(what)") }
    var seen = Set<T>()
    return try entries.map { entry in
      guard let value = parse(entry) else { throw ValidationError("\(flag): '\(entry)' is not \(what)") }
      guard seen.insert(value).inserted else { throw ValidationError("\(flag): '\(entry)' repeats an earlier entry; give each once") }
      return value
    }
  }

  /// Comma-separated non-negative integers (layers, ids): each 1–9 ASCII digits, so that no entry
  /// overflows and `+3` or `٣` (another script's digit) is refused rather than read.
  public static func integers(_ text: String, _ flag: String) throws -> [Int] {
    try list(text, flag, expecting: "a non-negative integer") { entry in
      let bytes = entry.utf8
      guard (1...9).contains(bytes.count), bytes.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
      return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
  }

  /// Comma-separated finite numbers (factors).
  public static func numbers(_ text: String, _ flag: String) throws -> [Double] {
    try list(text, flag, expecting: "a finite number") { Double($0).flatMap { $0.isFinite ? $0 : nil } }
  }

  /// Comma-separated names, each one of `allowed`.
  public static func names(_ text: String, _ flag: String, allowed: [String]) throws -> [String] {
    try list(text, flag, expecting: "one of \(allowed.joined(separator: ", "))") { allowed.contains($0) ? $0 : nil }
  }

  /// The parser of a comma-separated option whose entries are an enum's raw values, for
  /// `@Option(transform:)`: the list is typed when parsed, and an empty list or a bad entry is an
  /// error naming it and the choices.
  public static func list<T: CaseIterable & RawRepresentable & Hashable & Sendable>(of type: T.Type, _ flag: String)
    -> @Sendable (String) throws -> [T]
  where T.RawValue == String {
    { text in
      try list(text, flag, expecting: "one of \(T.allCases.map(\.rawValue).joined(separator: ", "))") { T(rawValue: $0) }
    }
  }

  /// One of `allowed`.
  public static func oneOf(_ value: String, _ allowed: [String], _ flag: String) throws {
    guard allowed.contains(value) else { throw ValidationError("\(flag) must be \(allowed.joined(separator: ", ")), not '\(value)'") }
  }
}

/// Rewrites `--flag -3` as `--flag=-3` so that a negative number reaches the option's own check
/// (the parser would otherwise take `-3` for a short flag and report a missing value).
public func joiningNegativeValues(_ arguments: [String]) -> [String] {
  var out: [String] = []
  var afterTerminator = false
  for a in arguments {
    if a == "--" { afterTerminator = true }
    if !afterTerminator, let last = out.last, last.count > 2, last.hasPrefix("--"), !last.contains("="), a.count > 1, a.hasPrefix("-"),
      Double(a) != nil || a.lowercased() == "-inf" || a.lowercased() == "-nan"
    {
      out[out.count - 1] = last + "=" + a
    } else {
      out.append(a)
    }
  }
  return out
}
