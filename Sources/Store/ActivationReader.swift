import CHDF5
import Foundation

/// Reads an activation file lazily: examples, tokens and per-layer row ranges, without
/// loading the whole file.
public final class ActivationReader {
  public let path: String
  public let header: ActivationHeader
  /// Complete examples (rows past them, from an interrupted write, are ignored).
  public let exampleCount: Int
  /// Token rows of example e are `tokenOffsets[e] ..< tokenOffsets[e + 1]`.
  public let tokenOffsets: [Int]
  private let file: hid_t
  private var tables: [String: H5Table] = [:]

  public var tokenCount: Int { tokenOffsets.last ?? 0 }

  /// Opens and checks the file; its HDF5 structures are first read in a child process
  /// (``HDF5Probe``), so a file that would crash libhdf5 is an error instead.
  public convenience init(path: String) throws {
    try HDF5Probe.survive(path) {
      let reader = try ActivationReader(unprobed: path)
      try reader.touchEverything()
    }
    try self.init(unprobed: path)
  }

  init(unprobed path: String) throws {
    self.path = path
    let opened = try HDF5.withDeadline(path) { try Self.open(path: path) }
    (header, file, exampleCount, tokenOffsets) = (opened.header, opened.file, opened.count, opened.offsets)
    // Every dataset must hold the committed rows.
    try HDF5.withDeadline(path) { try checkTables() }
  }

  /// The header, the open file and its committed token offsets.
  private static func open(path: String) throws -> (header: ActivationHeader, file: hid_t, count: Int, offsets: [Int]) {
    let header = try readHeader(path: path)
    let (file, count, offsets) = try HDF5.locked {
      let file = try HDF5.check(H5Fopen(path, psr_h5f_acc_rdonly(), psr_h5p_default()), "opening", path: path)
      // Until init completes, a failure must close the file itself (deinit will not run).
      do { return try readOffsets(file: file, path: path, modelDimension: header.modelDimension) } catch {
        H5Fclose(file)
        throw error
      }
    }
    return (header, file, count, offsets)
  }

  /// Reads what later calls read through libhdf5's structures: every string, every offset, and the
  /// first and last committed row of each table (their chunk indices).
  func touchEverything() throws {
    _ = try instructions()
    _ = try responses()
    guard tokenCount > 0 else { return }
    for rows in [0..<1, (tokenCount - 1)..<tokenCount] {
      _ = try tokens(rows)
      for l in header.layers {
        _ = try base(layer: l, rows: rows)
        _ = try delta(layer: l, rows: rows)
      }
    }
  }

  private func checkTables() throws {
    let names = ["tokens/id"] + header.layers.flatMap { ["layers/\($0)/base", "layers/\($0)/delta"] }
    for name in names {
      let table = try self.table(name)
      guard table.rows >= tokenCount else {
        throw StoreError.notAnActivationFile(path: path, reason: "\(name) has \(table.rows) rows, expected \(tokenCount)")
      }
      if name != "tokens/id" && table.width != header.modelDimension {
        throw StoreError.mismatch(path: path, field: "\(name) width", found: "\(table.width)", expected: "\(header.modelDimension)")
      }
    }
    for name in ["examples/instruction", "examples/response"] {
      let table = try self.table(name)
      guard table.rows >= exampleCount else {
        throw StoreError.notAnActivationFile(path: path, reason: "\(name) has \(table.rows) rows for \(exampleCount) examples")
      }
    }
  }

  /// `n_examples` and the token offsets, checked against each other and against what a file of
  /// its size could hold (each offset takes 8 bytes, each row of activations d values of at least
  /// 2 bytes; 8 times that allows for compression), so no count makes the reader allocate beyond it.
  private static func readOffsets(file: hid_t, path: String, modelDimension: Int) throws -> (hid_t, Int, [Int]) {
    let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    let count = try H5Node(id: file, path: path).intScalar("n_examples", in: 0...(1 << 40))
    guard count <= size else {
      throw StoreError.notAnActivationFile(path: path, reason: "n_examples \(count) is more than a file of \(size) bytes could hold")
    }
    let offsets = try H5Table.open(in: file, name: "examples/token_offset", path: path)
    defer { offsets.close() }
    guard offsets.rows >= count + 1 else {
      throw StoreError.notAnActivationFile(path: path, reason: "token_offset has \(offsets.rows) rows for \(count) examples")
    }
    var values = [Int64](repeating: 0, count: count + 1)
    try offsets.read(0..<(count + 1), into: &values, memoryType: psr_h5t_native_int64())
    let result = values.map { Int($0) }
    guard zip(result, result.dropFirst()).allSatisfy({ $0 <= $1 }), result.first == 0 else {
      throw StoreError.notAnActivationFile(path: path, reason: "token_offset is not ascending from 0")
    }
    let (rowBytes, overflow) = (result.last ?? 0).multipliedReportingOverflow(by: 2 * max(1, modelDimension))
    guard !overflow, rowBytes <= 8 * size else {
      throw StoreError.notAnActivationFile(
        path: path, reason: "token_offset claims \(result.last ?? 0) tokens, more than a file of \(size) bytes could hold")
    }
    return (file, count, result)
  }

  deinit {
    HDF5.locked {
      for t in tables.values { t.close() }
      H5Fclose(file)
    }
  }

  /// Reads and validates the root attributes.
  static func readHeader(path: String) throws -> ActivationHeader {
    guard FileManager.default.fileExists(atPath: path) else {
      throw StoreError.notAnActivationFile(path: path, reason: "no such file")
    }
    return try HDF5.locked {
      guard H5Fis_hdf5(path) > 0 else { throw StoreError.notAnActivationFile(path: path, reason: "not an HDF5 file") }
      let file = try HDF5.check(H5Fopen(path, psr_h5f_acc_rdonly(), psr_h5p_default()), "opening", path: path)
      defer { H5Fclose(file) }
      let root = H5Node(id: file, path: path)
      let format = try root.stringAttribute("format")
      guard format == ActivationHeader.format else {
        throw StoreError.notAnActivationFile(path: path, reason: "format is '\(format)'")
      }
      let version = try root.intScalar("format_version", in: Int64.min...Int64.max)
      guard version == ActivationHeader.formatVersion else {
        throw StoreError.notAnActivationFile(path: path, reason: "format_version \(version) is not supported")
      }
      let position = try root.stringAttribute("prompt_position")
      guard ["prefix", "system", "suffix"].contains(position) else {
        throw StoreError.notAnActivationFile(path: path, reason: "prompt_position is '\(position)', not prefix, system or suffix")
      }
      let layerCount = try root.intScalar("n_layers", in: 1...4096)
      let layers = try root.intAttribute("layers").map { Int($0) }
      guard !layers.isEmpty, layers.allSatisfy({ (0..<layerCount).contains($0) }), Set(layers).count == layers.count else {
        throw StoreError.notAnActivationFile(path: path, reason: "layers \(layers) are not distinct layers of 0..<\(layerCount)")
      }
      return ActivationHeader(
        modelName: try root.stringAttribute("model_name"), modelSHA256: try root.stringAttribute("model_sha256"),
        layerCount: layerCount, modelDimension: try root.intScalar("d_model", in: 1...(1 << 20)),
        steeringPrompt: try root.stringAttribute("steering_prompt"), promptPosition: position,
        chatTemplateID: try root.stringAttribute("chat_template_id"),
        seed: try root.seedAttribute("seed"),
        created: try root.stringAttribute("created"), toolVersion: try root.stringAttribute("tool_version"),
        layers: layers, storage: try root.stringAttribute("storage"),
        steeringPromptPerExample: try root.hasAttribute("steering_prompt_per_example")
          && root.intScalar("steering_prompt_per_example", in: 0...1) == 1,
        compute: try root.hasAttribute("compute") ? root.stringAttribute("compute") : "fp32")
    }
  }

  private func table(_ name: String) throws -> H5Table {
    if let t = tables[name] { return t }
    let t = try HDF5.locked { try H5Table.open(in: file, name: name, path: path) }
    tables[name] = t
    return t
  }

  public func instructions(_ range: Range<Int>? = nil) throws -> [String] {
    let r = range ?? 0..<exampleCount
    return try HDF5.locked { try table("examples/instruction").readStrings(r) }
  }

  /// Each example's steering prompt: its own where the file has one per example, else the header's.
  public func steeringPrompts(_ range: Range<Int>? = nil) throws -> [String] {
    let r = range ?? 0..<exampleCount
    guard header.steeringPromptPerExample else { return Array(repeating: header.steeringPrompt, count: r.count) }
    return try HDF5.locked { try table("examples/steering_prompt").readStrings(r) }
  }

  public func responses(_ range: Range<Int>? = nil) throws -> [String] {
    let r = range ?? 0..<exampleCount
    return try HDF5.locked { try table("examples/response").readStrings(r) }
  }

  public func tokens(_ rows: Range<Int>? = nil) throws -> [Int32] {
    let r = rows ?? 0..<tokenCount
    var out = [Int32](repeating: 0, count: r.count)
    try HDF5.locked { try table("tokens/id").read(r, into: &out, memoryType: psr_h5t_native_int32()) }
    return out
  }

  /// Rows `rows` of `/layers/{layer}/base` as a flat `rows × d` array of Float.
  public func base(layer: Int, rows: Range<Int>? = nil) throws -> [Float] { try matrix("base", layer, rows) }

  /// Rows `rows` of `/layers/{layer}/delta`.
  public func delta(layer: Int, rows: Range<Int>? = nil) throws -> [Float] { try matrix("delta", layer, rows) }

  private func matrix(_ kind: String, _ layer: Int, _ rows: Range<Int>?) throws -> [Float] {
    guard header.layers.contains(layer) else {
      throw StoreError.mismatch(path: path, field: "layer", found: "\(layer)", expected: "one of \(header.layers)")
    }
    let r = rows ?? 0..<tokenCount
    guard r.lowerBound >= 0, r.upperBound <= tokenCount else {
      throw StoreError.notAnActivationFile(path: path, reason: "rows \(r) are outside 0..<\(tokenCount)")
    }
    var out = [Float](repeating: 0, count: r.count * header.modelDimension)
    try HDF5.locked { try table("layers/\(layer)/\(kind)").read(r, into: &out, memoryType: psr_h5t_native_float()) }
    // Capture never writes a non-finite value (it stops first), so one here is damage; read on,
    // it would turn every fitted parameter into NaN.
    if let bad = out.firstIndex(where: { !$0.isFinite }) {
      throw StoreError.notAnActivationFile(
        path: path,
        reason: "layers/\(layer)/\(kind) holds \(out[bad]) at row \(r.lowerBound + bad / header.modelDimension), "
          + "column \(bad % header.modelDimension)")
    }
    return out
  }
}
