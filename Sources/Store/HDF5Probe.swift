import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads an untrusted file's HDF5 structures first in a child process. libhdf5 1.10 (Debian's)
/// crashes or loops on some malformed files (fuzzing found a segfault and an endless loop in its
/// global-heap reader, fuzz/crashes/hdf5 and fuzz/hangs/hdf5); a probe that dies takes only the
/// child with it, and the caller gets an error naming the file instead of a crash or a hang.
enum HDF5Probe {
  /// The child's deadline: 10 s, or `PSR_HDF5_PROBE_SECONDS` (the fuzzer sets 1, so that each
  /// input on which libhdf5 loops costs a second rather than ten). 0 turns the probe off: the
  /// fuzzer's in-process mode reads every input in its own process, where libhdf5's own crashes are
  /// the fuzzer's to record (experiments/fuzz); never set it for untrusted files.
  static let deadline: UInt32 = ProcessInfo.processInfo.environment["PSR_HDF5_PROBE_SECONDS"].flatMap(UInt32.init) ?? 10

  /// Runs `body` in a forked child under a deadline; throws when the child crashed or hung.
  /// Errors that `body` throws are not reported here: the caller meets them again when it reads.
  static func survive(_ path: String, seconds: UInt32 = deadline, _ body: () throws -> Void) throws {
    guard seconds > 0 else { return }
    let child = fork()
    guard child >= 0 else { return }  // no probe possible: read as before
    if child == 0 {
      // The child's crash is the parent's report: no backtrace from the runtime's handler, and
      // nothing from libhdf5 on the user's terminal.
      for s in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGALRM] { signal(s, SIG_DFL) }
      silenceSanitizerReports()
      let null = open("/dev/null", O_WRONLY)
      if null >= 0 { dup2(null, 2) }
      alarm(seconds)
      do { try body() } catch { _exit(0) }
      _exit(0)
    }
    var status: Int32 = 0
    while waitpid(child, &status, 0) < 0 && errno == EINTR {}
    let signal = status & 0x7f
    if signal == SIGALRM {
      throw StoreError.notAnActivationFile(path: path, reason: "the HDF5 library did not finish reading it in \(seconds) s")
    }
    if signal != 0 {
      throw StoreError.notAnActivationFile(path: path, reason: "the HDF5 library crashed reading it (signal \(signal))")
    }
    // The child exits 0 whatever its reads threw; anything else ended it abnormally (a sanitizer's
    // report, a handler that exits instead of re-raising).
    let code = (status >> 8) & 0xff
    if code != 0 {
      throw StoreError.notAnActivationFile(path: path, reason: "the HDF5 library failed reading it (exit status \(code))")
    }
  }

  /// Under a sanitizer (the fuzzer's build) the runtime's death callback would file the child's
  /// crash as the fuzzer's own; the parent reports it instead. A no-op in ordinary builds, where the
  /// symbol does not exist.
  private static func silenceSanitizerReports() {
    typealias SetCallback = @convention(c) (UnsafeRawPointer?) -> Void
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "__sanitizer_set_death_callback") else { return }
    unsafeBitCast(symbol, to: SetCallback.self)(nil)
  }
}
