import Foundation
import Tensor

/// Where one tensor lies in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
  public let name: String
  /// Dimensions as GGUF stores them: `dimensions[0]` varies fastest (the row width).
  public let dimensions: [Int]
  public let type: GGMLType
  /// Byte offset inside the tensor-data section.
  public let offset: Int

  public var elementCount: Int { dimensions.reduce(1, *) }
  public var byteCount: Int { elementCount / type.blockSize * type.blockBytes }

  package init(name: String, dimensions: [Int], type: GGMLType, offset: Int) {
    self.name = name
    self.dimensions = dimensions
    self.type = type
    self.offset = offset
  }
}

/// A GGUF file (versions 2 and 3), memory-mapped, with its metadata and tensor table.
///
/// Every offset and size is checked while the header is parsed, so once `init` returns,
/// `tensorData(_:)` and `dequantize(_:)` cannot read outside the mapping.
public final class GGUFFile: Sendable {
  public let path: String
  public let version: UInt32
  public let metadata: [String: GGUFValue]
  /// Metadata keys in file order.
  public let metadataKeys: [String]
  public let tensors: [String: GGUFTensorInfo]
  public let tensorOrder: [String]
  public let alignment: Int
  private let mapping: MemoryMapping
  private let dataStart: Int

  /// Errors about the file's contents come as ``GGUFError/inFile(path:_:)``, naming it.
  public convenience init(path: String) throws {
    let mapping = try MemoryMapping(path: path)
    do {
      try self.init(mapping: mapping, path: path)
    } catch let error as GGUFError {
      throw GGUFError.inFile(path: path, error)
    }
  }

  /// Parses GGUF bytes already in memory (used for tests of corrupt inputs).
  public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
    try self.init(mapping: MemoryMapping(copying: bytes), path: name)
  }

  private init(mapping: MemoryMapping, path: String) throws {
    self.mapping = mapping
    self.path = path
    var reader = ByteReader(mapping.bytes)
    let magic = [UInt8](mapping.bytes.prefix(4))
    guard magic == Array("GGUF".utf8) else { throw GGUFError.badMagic(found: magic) }
    _ = try reader.read(UInt32.self, "magic")
    version = try reader.read(UInt32.self, "version")
    guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
    let tensorCount = try reader.read(UInt64.self, "tensor count")
    let keyCount = try reader.read(UInt64.self, "metadata key count")
    // A key-value pair takes at least 12 bytes and a tensor info at least 24.
    guard keyCount <= UInt64(reader.remaining / 12) else {
      throw GGUFError.implausibleCount(field: "metadata key count", count: keyCount)
    }
    guard tensorCount <= UInt64(reader.remaining / 24) else {
      throw GGUFError.implausibleCount(field: "tensor count", count: tensorCount)
    }
    var metadata: [String: GGUFValue] = [:]
    var keys: [String] = []
    for i in 0..<Int(keyCount) {
      let key = try reader.readString("metadata key #\(i)")
      let type = try reader.read(UInt32.self, "type of '\(key)'")
      let value = try GGUFValue.read(type: type, key: key, from: &reader)
      guard metadata.updateValue(value, forKey: key) == nil else { throw GGUFError.duplicateKey(key) }
      keys.append(key)
    }
    self.metadata = metadata
    self.metadataKeys = keys

    let alignmentValue = metadata["general.alignment"]?.int ?? 32
    guard alignmentValue > 0, alignmentValue & (alignmentValue - 1) == 0 else {
      throw GGUFError.invalidAlignment(UInt64(max(0, alignmentValue)))
    }
    alignment = alignmentValue

    var infos: [(name: String, dims: [UInt64], type: UInt32, offset: UInt64)] = []
    for i in 0..<Int(tensorCount) {
      let name = try reader.readString("tensor name #\(i)")
      let rank = try reader.read(UInt32.self, "rank of '\(name)'")
      guard (1...4).contains(rank) else {
        throw GGUFError.invalidTensorShape(name: name, dimensions: [UInt64(rank)])
      }
      var dims: [UInt64] = []
      for d in 0..<Int(rank) { dims.append(try reader.read(UInt64.self, "dimension \(d) of '\(name)'")) }
      let type = try reader.read(UInt32.self, "type of '\(name)'")
      let offset = try reader.read(UInt64.self, "offset of '\(name)'")
      infos.append((name, dims, type, offset))
    }
    let headerEnd = reader.offset
    dataStart = (headerEnd + alignment - 1) / alignment * alignment
    let dataSize = max(0, mapping.bytes.count - dataStart)

    var tensors: [String: GGUFTensorInfo] = [:]
    for info in infos {
      let tensor = try Self.validate(info, alignment: alignment, dataSize: dataSize)
      guard tensors.updateValue(tensor, forKey: info.name) == nil else {
        throw GGUFError.duplicateTensor(info.name)
      }
    }
    try Self.checkDisjoint(tensors.values)
    self.tensors = tensors
    self.tensorOrder = infos.map(\.name)
  }

  /// llama.cpp's writer lays tensors one after another; two that share bytes mean an offset, a
  /// shape or a type was altered, and reading on would feed one weight's bytes to another.
  private static func checkDisjoint(_ tensors: some Collection<GGUFTensorInfo>) throws {
    let sorted = tensors.sorted { ($0.offset, $0.name) < ($1.offset, $1.name) }
    for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
      throw GGUFError.overlappingTensors(a.name, b.name)
    }
  }

  private static func validate(
    _ info: (name: String, dims: [UInt64], type: UInt32, offset: UInt64), alignment: Int, dataSize: Int
  ) throws -> GGUFTensorInfo {
    // 2^40 elements is far beyond any model this tool loads and keeps products in range.
    let limit: UInt64 = 1 << 40
    var elements: UInt64 = 1
    for d in info.dims {
      guard d > 0, d <= limit, elements <= limit / d else {
        throw GGUFError.invalidTensorShape(name: info.name, dimensions: info.dims)
      }
      elements *= d
    }
    guard let type = GGMLType(rawValue: info.type) else {
      throw GGUFError.unsupportedTensorType(name: info.name, type: info.type)
    }
    guard Int(info.dims[0]) % type.blockSize == 0 else {
      throw GGUFError.blockMisfit(name: info.name, elements: Int(info.dims[0]), blockSize: type.blockSize)
    }
    guard info.offset % UInt64(alignment) == 0 else {
      throw GGUFError.misalignedTensor(name: info.name, offset: info.offset)
    }
    let bytes = elements / UInt64(type.blockSize) * UInt64(type.blockBytes)
    guard info.offset <= UInt64(dataSize), bytes <= UInt64(dataSize) - info.offset else {
      throw GGUFError.tensorOutOfBounds(name: info.name, offset: info.offset, bytes: bytes, dataSize: dataSize)
    }
    return GGUFTensorInfo(name: info.name, dimensions: info.dims.map { Int($0) }, type: type, offset: Int(info.offset))
  }

  /// The raw bytes of a tensor, valid while this file object lives.
  public func tensorData(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: mapping.bytes[(dataStart + info.offset)..<(dataStart + info.offset + info.byteCount)])
  }

  /// The tensor's elements as fp32, in storage order.
  public func dequantize(_ info: GGUFTensorInfo) -> [Float] {
    let data = tensorData(info)
    return [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
      let rowWidth = info.dimensions[0]
      let rows = info.elementCount / rowWidth
      let rowBytes = rowWidth / info.type.blockSize * info.type.blockBytes
      // Rows are independent, so both cores share the conversion of large tensors.
      let chunks = min(rows, 64)
      let output = buffer.baseAddress!
      Parallel.perform(chunks) { chunk in
        let lo = rows * chunk / chunks
        let hi = rows * (chunk + 1) / chunks
        Dequantize.decode(
          info.type, from: data.baseAddress! + lo * rowBytes, count: (hi - lo) * rowWidth,
          into: output + lo * rowWidth)
      }
      initialized = info.elementCount
    }
  }

  /// The tensor of this name, or an error naming it.
  public func tensor(_ name: String) throws -> GGUFTensorInfo {
    guard let info = tensors[name] else { throw ModelError.missingTensor(name) }
    return info
  }
}

/// A read-only file mapping, or an owned copy of bytes.
///
/// Sendable by hand: the bytes are never written after `init` and stay mapped (or allocated)
/// until `deinit`, so any thread may read them.
final class MemoryMapping: @unchecked Sendable {
  let bytes: UnsafeRawBufferPointer
  private let isMapped: Bool

  init(path: String) throws {
    // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever; the regular-file
    // check below then refuses it (the flag does nothing to a regular file's reads or mapping).
    let fd = open(path, O_RDONLY | O_NONBLOCK)
    guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
    }
    guard info.st_mode & S_IFMT == S_IFREG else { throw GGUFError.cannotOpen(path: path, reason: "it is not a regular file") }
    let size = Int(info.st_size)
    guard size > 0 else { throw GGUFError.cannotOpen(path: path, reason: "the file is empty") }
    guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
      throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
    }
    bytes = UnsafeRawBufferPointer(start: base, count: size)
    isMapped = true
  }

  init(copying source: [UInt8]) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(source.count, 1), alignment: 64)
    buffer.copyBytes(from: source)
    bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<source.count])
    isMapped = false
  }

  deinit {
    if isMapped {
      munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    } else {
      UnsafeMutableRawPointer(mutating: bytes.baseAddress)?.deallocate()
    }
  }
}
