import ArgumentParser
import Foundation

/// `--memory-budget`: the memory a long command may use, weights included. Batch sizes are
/// chosen so that the estimate of `DecoderModel.batchSize(requested:budget:tokens:…)`
/// fits, before any work starts, rather than failing halfway.
public struct MemoryBudgetOption: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "Memory the run may use, weights included, e.g. 12G or 800M (default: 80% of this machine's memory). Batches shrink to fit; a run that cannot fit one example stops before it starts.",
      valueName: "size"))
  public var memoryBudget: ByteSize?

  public init() {}

  /// The budget in bytes: the flag, or 80% of physical memory.
  public var bytes: Int { memoryBudget?.bytes ?? Self.machineDefault }

  public static var machineDefault: Int {
    Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8)
  }

  /// "12.0 GB" for messages.
  public static func describe(_ bytes: Int) -> String { String(format: "%.1f GB", Double(bytes) / 1e9) }
}

/// A size such as 12G, 800M, 64K or a plain number of bytes (powers of 1024).
public struct ByteSize: ExpressibleByArgument, Sendable, Equatable {
  public let bytes: Int

  public init?(argument: String) {
    let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
    let units: [(String, Double)] = [
      ("TB", 0x1p40), ("GB", 0x1p30), ("MB", 0x1p20), ("KB", 0x1p10), ("T", 0x1p40), ("G", 0x1p30), ("M", 0x1p20), ("K", 0x1p10), ("B", 1),
    ]
    var number = text
    var scale = 1.0
    for (suffix, value) in units where text.hasSuffix(suffix) {
      number = String(text.dropLast(suffix.count))
      scale = value
      break
    }
    guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0, value * scale < 0x1p62 else {
      return nil
    }
    bytes = Int(value * scale)
    guard bytes > 0 else { return nil }
  }
}
