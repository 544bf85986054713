import CHDF5
import Foundation

/// How activations are stored.
public struct StorageOptions: Sendable, Equatable {
  /// Store base and delta as IEEE half precision (h5py reads float16); halves the file.
  public var float16: Bool
  /// gzip level 1–9, or nil for none.
  public var gzip: Int?
  /// Rows per chunk along the token axis.
  public var chunkRows: Int

  public init(float16: Bool = false, gzip: Int? = nil, chunkRows: Int = 256) {
    self.float16 = float16
    self.gzip = gzip
    self.chunkRows = chunkRows
  }
}

/// Appends captured examples to an activation file, one complete example at a time.
///
/// After each example the file is flushed and the root attribute `n_examples` is advanced;
/// datasets may hold rows past it only if a write was interrupted, and `resume` cuts them
/// off, so an interrupted capture continues without duplicating or losing an example.
public final class ActivationWriter {
  public let path: String
  public let header: ActivationHeader
  public private(set) var exampleCount: Int
  public private(set) var tokenCount: Int
  private let file: hid_t
  private let instructions: H5Table
  /// `/examples/steering_prompt`, in files with one steering prompt per example.
  private let steeringPrompts: H5Table?
  private let responses: H5Table
  private let offsets: H5Table
  private let tokenIDs: H5Table
  private var base: [Int: H5Table] = [:]
  private var delta: [Int: H5Table] = [:]
  private var closed = false
  /// Rows per chunk of the activation datasets (read from the file).
  private let chunkRows: Int
  /// Set when a write failed: the file holds the examples committed before it, and the rest
  /// of this writer's work goes nowhere (resume the capture once the disk has room).
  private var failed = false

  /// Creates a new file at `path` (replacing any file there).
  public static func create(path: String, header: ActivationHeader, options: StorageOptions = StorageOptions()) throws -> ActivationWriter {
    try HDF5.locked {
      // The 1.8 file format: its superblock and object headers carry checksums (the earliest format's
      // do not), so a flipped byte in the file's structure is an error on opening, not a wrong shape.
      let access = H5Pcreate(psr_h5p_file_access())
      defer { H5Pclose(access) }
      H5Pset_libver_bounds(access, H5F_LIBVER_V18, H5F_LIBVER_V18)
      let file = try HDF5.check(
        H5Fcreate(path, psr_h5f_acc_trunc(), psr_h5p_default(), access), "creating the file", path: path)
      let root = H5Node(id: file, path: path)
      try root.writeAttribute("format", ActivationHeader.format)
      try root.writeAttribute("format_version", [Int64(ActivationHeader.formatVersion)])
      try root.writeAttribute("model_name", header.modelName)
      try root.writeAttribute("model_sha256", header.modelSHA256)
      try root.writeAttribute("n_layers", [Int64(header.layerCount)])
      try root.writeAttribute("d_model", [Int64(header.modelDimension)])
      try root.writeAttribute("steering_prompt", header.steeringPrompt)
      try root.writeAttribute("prompt_position", header.promptPosition)
      try root.writeAttribute("chat_template_id", header.chatTemplateID)
      try root.writeAttribute("seed", unsigned: header.seed)
      try root.writeAttribute("created", header.created)
      try root.writeAttribute("tool_version", header.toolVersion)
      try root.writeAttribute("layers", header.layers.map(Int64.init), array: true)
      try root.writeAttribute("storage", header.storage)
      if header.steeringPromptPerExample { try root.writeAttribute("steering_prompt_per_example", [Int64(1)]) }
      // Written only when not fp32, so that fp32 captures stay byte for byte what they were.
      if header.compute != "fp32" { try root.writeAttribute("compute", header.compute) }
      try root.writeAttribute("n_examples", [0])
      let strings = HDF5.stringType()
      defer { H5Tclose(strings) }
      let chunk = options.chunkRows
      _ = try H5Table.create(in: file, name: "examples/instruction", fileType: strings, width: 0, chunkRows: 64, gzip: nil, path: path)
        .close()
      _ = try H5Table.create(in: file, name: "examples/response", fileType: strings, width: 0, chunkRows: 64, gzip: nil, path: path).close()
      if header.steeringPromptPerExample {
        _ = try H5Table.create(
          in: file, name: "examples/steering_prompt", fileType: strings, width: 0, chunkRows: 64, gzip: nil, path: path
        ).close()
      }
      let offsets = try H5Table.create(
        in: file, name: "examples/token_offset", fileType: psr_h5t_std_i64le(), width: 0, chunkRows: 256, gzip: nil, path: path)
      var zero: Int64 = 0
      try offsets.append(&zero, count: 1, memoryType: psr_h5t_native_int64())
      offsets.close()
      _ = try H5Table.create(
        in: file, name: "tokens/id", fileType: psr_h5t_std_i32le(), width: 0, chunkRows: chunk, gzip: options.gzip, path: path
      ).close()
      let floatType = options.float16 ? HDF5.float16Type() : H5Tcopy(psr_h5t_ieee_f32le())
      defer { H5Tclose(floatType) }
      for l in header.layers {
        for kind in ["base", "delta"] {
          _ = try H5Table.create(
            in: file, name: "layers/\(l)/\(kind)", fileType: floatType, width: header.modelDimension, chunkRows: chunk,
            gzip: options.gzip, path: path
          ).close()
        }
      }
      H5Fflush(file, H5F_SCOPE_GLOBAL)
      H5Fclose(file)
    }
    return try ActivationWriter(path: path, expecting: header)
  }

  /// Opens an existing file to append more examples; its header must match `header` in
  /// model, layers, prompt and seed. Rows past the last complete example are cut off.
  public static func resume(path: String, expecting header: ActivationHeader) throws -> ActivationWriter {
    try ActivationWriter(path: path, expecting: header)
  }

  private init(path: String, expecting header: ActivationHeader) throws {
    self.path = path
    // Probed (and checked) as a reader would, before libhdf5 opens it for writing.
    let found = try ActivationReader(path: path).header
    for (field, a, b) in [
      ("model_sha256", found.modelSHA256, header.modelSHA256), ("steering_prompt", found.steeringPrompt, header.steeringPrompt),
      ("prompt_position", found.promptPosition, header.promptPosition), ("layers", "\(found.layers)", "\(header.layers)"),
      ("seed", "\(found.seed)", "\(header.seed)"), ("storage", found.storage, header.storage),
      ("steering_prompt_per_example", "\(found.steeringPromptPerExample)", "\(header.steeringPromptPerExample)"),
      ("compute", found.compute, header.compute),
    ] where a != b {
      throw StoreError.mismatch(path: path, field: field, found: a, expected: b)
    }
    self.header = found
    (file, instructions, steeringPrompts, responses, offsets, tokenIDs, base, delta, exampleCount, tokenCount) = try HDF5.locked {
      let file = try HDF5.check(H5Fopen(path, psr_h5f_acc_rdwr(), psr_h5p_default()), "opening for writing", path: path)
      do { return try Self.openTables(file: file, path: path, layers: found.layers, perExample: found.steeringPromptPerExample) } catch {
        H5Fclose(file)
        throw error
      }
    }
    let tables = Array(base.values)
    chunkRows = HDF5.locked { tables.map(\.chunkRows).max() ?? 256 }
  }

  /// The datasets of an opened file, cut back to the last committed example.
  private static func openTables(file: hid_t, path: String, layers: [Int], perExample: Bool) throws -> (
    hid_t, H5Table, H5Table?, H5Table, H5Table, H5Table, [Int: H5Table], [Int: H5Table], Int, Int
  ) {
    let count = try H5Node(id: file, path: path).intScalar("n_examples", in: 0...(1 << 40))
    let instructions = try H5Table.open(in: file, name: "examples/instruction", path: path)
    let steeringPrompts = perExample ? try H5Table.open(in: file, name: "examples/steering_prompt", path: path) : nil
    let responses = try H5Table.open(in: file, name: "examples/response", path: path)
    let offsets = try H5Table.open(in: file, name: "examples/token_offset", path: path)
    let tokenIDs = try H5Table.open(in: file, name: "tokens/id", path: path)
    guard offsets.rows >= count + 1 else {
      throw StoreError.notAnActivationFile(path: path, reason: "token_offset has \(offsets.rows) rows for \(count) examples")
    }
    var last: Int64 = 0
    try offsets.read(count..<(count + 1), into: &last, memoryType: psr_h5t_native_int64())
    guard last >= 0, last <= Int64(tokenIDs.rows) else {
      throw StoreError.notAnActivationFile(path: path, reason: "token_offset ends at \(last), outside tokens/id's \(tokenIDs.rows) rows")
    }
    let tokens = Int(last)
    try instructions.resize(rows: count)
    try steeringPrompts?.resize(rows: count)
    try responses.resize(rows: count)
    try offsets.resize(rows: count + 1)
    try tokenIDs.resize(rows: tokens)
    var base: [Int: H5Table] = [:]
    var delta: [Int: H5Table] = [:]
    for l in layers {
      base[l] = try H5Table.open(in: file, name: "layers/\(l)/base", path: path)
      delta[l] = try H5Table.open(in: file, name: "layers/\(l)/delta", path: path)
      try base[l]!.resize(rows: tokens)
      try delta[l]!.resize(rows: tokens)
    }
    return (file, instructions, steeringPrompts, responses, offsets, tokenIDs, base, delta, count, tokens)
  }

  /// Writes one example and commits it.
  public func append(_ example: CapturedExample) throws {
    let t = example.tokens.count
    let d = header.modelDimension
    for l in header.layers {
      guard let b = example.base[l], let dl = example.delta[l], b.count == t * d, dl.count == t * d else {
        throw StoreError.invalidExample("layer \(l) needs \(t)×\(d) base and delta values")
      }
    }
    guard !failed else { throw StoreError.hdf5(path: path, operation: "appending after an earlier failed write") }
    try reserveSpace(tokens: t)
    failed = true
    try HDF5.locked {
      try instructions.appendStrings([example.instruction])
      try steeringPrompts?.appendStrings([example.steeringPrompt ?? header.steeringPrompt])
      try responses.appendStrings([example.response])
      var end = Int64(tokenCount + t)
      try offsets.append(&end, count: 1, memoryType: psr_h5t_native_int64())
      try example.tokens.withUnsafeBytes { try tokenIDs.append($0.baseAddress!, count: t, memoryType: psr_h5t_native_int32()) }
      for l in header.layers {
        try example.base[l]!.withUnsafeBytes { try base[l]!.append($0.baseAddress!, count: t, memoryType: psr_h5t_native_float()) }
        try example.delta[l]!.withUnsafeBytes { try delta[l]!.append($0.baseAddress!, count: t, memoryType: psr_h5t_native_float()) }
      }
      // Data first, then the commit marker, each only after the previous write reached the file.
      try HDF5.check(H5Fflush(file, H5F_SCOPE_GLOBAL), "writing example \(exampleCount)'s data", path: path)
      try H5Node(id: file, path: path).writeAttribute("n_examples", [Int64(exampleCount + 1)])
      try HDF5.check(H5Fflush(file, H5F_SCOPE_GLOBAL), "committing example \(exampleCount)", path: path)
    }
    failed = false
    exampleCount += 1
    tokenCount += t
  }

  /// Makes sure the disk has room for the example before HDF5 writes any of it: a write that
  /// fails halfway can leave metadata pointing past the end of the file, which no resume could
  /// open. Reserves, from the file's end of allocation, each dataset's new rows plus a whole
  /// chunk (a compressed chunk is rewritten elsewhere when it grows) and 1 MiB for metadata.
  private func reserveSpace(tokens t: Int) throws {
    let element = header.storage == "float16" ? 2 : 4
    let matrixBytes = 2 * header.layers.count * (t + chunkRows) * header.modelDimension * element
    let bytes = matrixBytes + 2 * (t + chunkRows) * 8 + (1 << 20)
    var end: haddr_t = 0
    _ = try HDF5.locked { try HDF5.check(H5Fget_eoa(file, &end), "reading the end of allocation", path: path) }
    let fd = open(path, O_WRONLY)
    guard fd >= 0 else { throw StoreError.hdf5(path: path, operation: "reserving space: " + String(cString: strerror(errno))) }
    defer { Foundation.close(fd) }
    let status = posix_fallocate(fd, off_t(end), off_t(bytes))
    // Filesystems without fallocate get no reservation; any other failure is the disk's.
    guard status == 0 || status == EOPNOTSUPP || status == ENOSYS || status == EINVAL else {
      throw StoreError.hdf5(
        path: path,
        operation: "reserving \((bytes + (1 << 20) - 1) >> 20) MiB for example \(exampleCount): " + String(cString: strerror(status)))
    }
  }

  public func close() throws {
    guard !closed else { return }
    closed = true
    // After a failed write, closing would flush the half-written example; leave the file as the
    // last good flush left it (the process ends soon, and resume cuts the rest off).
    guard !failed else { return }
    try HDF5.locked {
      for table in [instructions, responses, offsets, tokenIDs] + [steeringPrompts].compactMap({ $0 }) + Array(base.values)
        + Array(delta.values)
      {
        table.close()
      }
      try HDF5.check(H5Fclose(file), "closing", path: path)
    }
  }

  deinit { try? close() }
}
