import CHDF5
import Foundation

/// The HDF5 C library is not thread-safe in Debian's build: every call goes through this lock.
enum HDF5 {
  private static let lock = NSRecursiveLock()
  nonisolated(unsafe) private static var initialized = false

  static func locked<T>(_ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    if !initialized {
      // No clean-up at exit: after a failed write (a full disk) the library's exit handler would
      // flush the file again and crash; the file holds what the last good flush committed.
      H5dont_atexit()
      H5open()
      // The library prints its own error stack by default; ours are typed.
      H5Eset_auto2(psr_h5e_default(), nil, nil)
      initialized = true
    }
    return try body()
  }

  /// Runs `body`, which reads a file's metadata, under a deadline. libhdf5 1.10 can loop forever on
  /// some malformed files (fuzzing found one in its global-heap reader); no reader may hang, so past
  /// the deadline the process ends with one error line and status 1, as for any bad file.
  static func withDeadline<T>(_ path: String, seconds: Double = 10, _ body: () throws -> T) rethrows -> T {
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      if done.wait(timeout: .now() + seconds) == .timedOut {
        FileHandle.standardError.write(
          Data("Error: \(path) is not a readable activation file: the HDF5 library did not finish reading it in \(Int(seconds)) s\n".utf8))
        _exit(1)
      }
    }
    defer { done.signal() }
    return try body()
  }

  /// Throws `StoreError.hdf5` when an HDF5 call returned a negative status or id.
  @discardableResult
  static func check<T: BinaryInteger>(_ value: T, _ what: @autoclosure () -> String, path: String) throws -> T {
    guard value < 0 else { return value }
    // The system's reason, where the failure was the disk's (full, too large, read-only, I/O).
    let reason =
      [ENOSPC, EFBIG, EDQUOT, EIO, EROFS, EACCES].contains(errno)
      ? ": " + String(cString: strerror(errno)) : innermostError().map { " (\($0))" } ?? ""
    throw StoreError.hdf5(path: path, operation: what() + reason)
  }

  /// The message of the function that detected the error, at the bottom of libhdf5's error stack
  /// (e.g. "data error detected by Fletcher32 checksum"): the outer frames only repeat the call.
  static func innermostError() -> String? {
    var message: String?
    withUnsafeMutablePointer(to: &message) { out in
      _ = H5Ewalk2(
        psr_h5e_default(), H5E_WALK_UPWARD,
        { _, error, data in
          let out = data!.assumingMemoryBound(to: String?.self)
          if out.pointee == nil, let text = error?.pointee.desc.map({ String(cString: $0) }) {
            out.pointee = text.split(whereSeparator: \.isNewline).joined(separator: " ")
          }
          return 0
        }, out)
    }
    return message.flatMap { $0.isEmpty ? nil : $0 }
  }

  /// A half-precision IEEE type (sign, 5-bit exponent, 10-bit mantissa), which HDF5 1.10 lacks
  /// as a predefined type; h5py reads it as float16.
  static func float16Type() -> hid_t {
    let t = H5Tcopy(psr_h5t_ieee_f32le())
    H5Tset_fields(t, 15, 10, 5, 0, 10)
    H5Tset_precision(t, 16)
    H5Tset_size(t, 2)
    H5Tset_ebias(t, 15)
    return t
  }

  /// Variable-length UTF-8 strings.
  static func stringType() -> hid_t {
    let t = H5Tcopy(psr_h5t_c_s1())
    H5Tset_size(t, Int(bitPattern: UInt(bitPattern: -1)))  // H5T_VARIABLE
    H5Tset_cset(t, H5T_CSET_UTF8)
    return t
  }
}

/// Why an activation file could not be written or read.
extension HDF5 {
  /// HDF5's variable-length strings end at the first NUL byte, so a text holding one would come
  /// back cut short without a word: refused instead, naming where it was going.
  static func checkStorable(_ text: String, what: String) throws {
    if text.utf8.contains(0) {
      throw StoreError.invalidExample("the text for \(what) holds a NUL character, which an HDF5 string cannot store")
    }
  }
}

public enum StoreError: Error, CustomStringConvertible, Equatable {
  case hdf5(path: String, operation: String)
  case notAnActivationFile(path: String, reason: String)
  case mismatch(path: String, field: String, found: String, expected: String)
  case exists(path: String)
  case invalidExample(String)

  public var description: String {
    switch self {
    case .hdf5(let path, let op): "HDF5 error in \(path) while \(op)"
    case .notAnActivationFile(let path, let reason): "\(path) is not a psr-activations file: \(reason)"
    case .mismatch(let path, let field, let found, let expected): "\(path): \(field) is \(found), expected \(expected)"
    case .exists(let path): "\(path) already exists; pass --resume to continue it or --overwrite to replace it"
    case .invalidExample(let why): "invalid example: \(why)"
    }
  }
}
