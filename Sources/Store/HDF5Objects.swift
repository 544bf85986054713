import CHDF5
import Foundation

/// Small typed helpers over HDF5 ids; callers hold `HDF5.locked`.
struct H5Node {
  let id: hid_t
  let path: String

  func writeAttribute(_ name: String, _ value: String) throws {
    try HDF5.checkStorable(value, what: "attribute \(name)")
    let type = HDF5.stringType()
    defer { H5Tclose(type) }
    let space = H5Screate(H5S_SCALAR)
    defer { H5Sclose(space) }
    if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
    let attr = try HDF5.check(
      H5Acreate2(id, name, type, space, psr_h5p_default(), psr_h5p_default()), "creating attribute \(name)", path: path)
    defer { H5Aclose(attr) }
    try value.withCString { cString in
      var pointer: UnsafePointer<CChar>? = cString
      try HDF5.check(H5Awrite(attr, type, &pointer), "writing attribute \(name)", path: path)
    }
  }

  /// Writes integers; one value becomes a scalar attribute unless `array`.
  func writeAttribute(_ name: String, _ values: [Int64], array: Bool = false) throws {
    var dims: [hsize_t] = [hsize_t(values.count)]
    let space = values.count == 1 && !array ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
    defer { H5Sclose(space) }
    if H5Aexists(id, name) > 0 {
      let attr = H5Aopen(id, name, psr_h5p_default())
      defer { H5Aclose(attr) }
      let existing = H5Aget_space(attr)
      let count = H5Sget_simple_extent_npoints(existing)
      H5Sclose(existing)
      if count == values.count {
        try HDF5.check(H5Awrite(attr, psr_h5t_native_int64(), values), "writing attribute \(name)", path: path)
        return
      }
      H5Adelete(id, name)
    }
    let attr = try HDF5.check(
      H5Acreate2(id, name, psr_h5t_std_i64le(), space, psr_h5p_default(), psr_h5p_default()), "creating attribute \(name)", path: path)
    defer { H5Aclose(attr) }
    try HDF5.check(H5Awrite(attr, psr_h5t_native_int64(), values), "writing attribute \(name)", path: path)
  }

  /// Writes one unsigned 64-bit scalar (seeds: every UInt64 is a seed, so none may pass through Int64).
  func writeAttribute(_ name: String, unsigned value: UInt64) throws {
    let space = H5Screate(H5S_SCALAR)
    defer { H5Sclose(space) }
    if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
    let attr = try HDF5.check(
      H5Acreate2(id, name, psr_h5t_std_u64le(), space, psr_h5p_default(), psr_h5p_default()), "creating attribute \(name)", path: path)
    defer { H5Aclose(attr) }
    var v = value
    try HDF5.check(H5Awrite(attr, psr_h5t_native_uint64(), &v), "writing attribute \(name)", path: path)
  }

  /// A seed: one integer attribute read as the UInt64 it was written from. Files before the seed
  /// became unsigned stored it as a signed 64-bit value; its bit pattern is the same seed.
  func seedAttribute(_ name: String) throws -> UInt64 {
    try readAttribute(name, of: H5T_INTEGER, "an integer") { attr, fileType, count in
      guard count == 1 else {
        throw StoreError.notAnActivationFile(path: path, reason: "attribute \(name) holds \(max(count, 0)) values, expected 1")
      }
      if H5Tget_sign(fileType) == H5T_SGN_NONE {
        var v: UInt64 = 0
        try HDF5.check(H5Aread(attr, psr_h5t_native_uint64(), &v), "reading attribute \(name)", path: path)
        return v
      }
      var v: Int64 = 0
      try HDF5.check(H5Aread(attr, psr_h5t_native_int64(), &v), "reading attribute \(name)", path: path)
      return UInt64(bitPattern: v)
    }
  }

  /// Opens attribute `name`, checks that its type is of `typeClass` (named `described` in the error),
  /// and hands `body` the attribute, its file type and its element count; both ids are closed after.
  private func readAttribute<T>(
    _ name: String, of typeClass: H5T_class_t, _ described: String,
    _ body: (_ attr: hid_t, _ fileType: hid_t, _ count: Int64) throws -> T
  ) throws -> T {
    guard H5Aexists(id, name) > 0 else { throw StoreError.notAnActivationFile(path: path, reason: "attribute \(name) is missing") }
    let attr = try HDF5.check(H5Aopen(id, name, psr_h5p_default()), "opening attribute \(name)", path: path)
    defer { H5Aclose(attr) }
    let fileType = H5Aget_type(attr)
    defer { H5Tclose(fileType) }
    guard H5Tget_class(fileType) == typeClass else {
      throw StoreError.notAnActivationFile(path: path, reason: "attribute \(name) is not \(described)")
    }
    let space = H5Aget_space(attr)
    let count = Int64(H5Sget_simple_extent_npoints(space))
    H5Sclose(space)
    return try body(attr, fileType, count)
  }

  func hasAttribute(_ name: String) -> Bool { H5Aexists(id, name) > 0 }

  func stringAttribute(_ name: String) throws -> String {
    try readAttribute(name, of: H5T_STRING, "a string") { attr, fileType, count in
      // H5Aread writes every element of the attribute's dataspace: one string is all the buffers
      // below hold (fuzzing found a two-element attribute written past a one-string buffer).
      guard count == 1 else {
        throw StoreError.notAnActivationFile(path: path, reason: "attribute \(name) holds \(max(count, 0)) strings, expected 1")
      }
      if H5Tis_variable_str(fileType) > 0 {
        let type = HDF5.stringType()
        defer { H5Tclose(type) }
        var pointer: UnsafeMutablePointer<CChar>? = nil
        try HDF5.check(H5Aread(attr, type, &pointer), "reading attribute \(name)", path: path)
        defer { free(pointer) }
        return pointer.map { String(cString: $0) } ?? ""
      }
      let size = H5Tget_size(fileType)
      guard size > 0, size <= 1 << 24 else {
        throw StoreError.notAnActivationFile(path: path, reason: "attribute \(name) has an unreadable size")
      }
      var buffer = [CChar](repeating: 0, count: size + 1)
      try HDF5.check(H5Aread(attr, fileType, &buffer), "reading attribute \(name)", path: path)
      return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
  }

  func intAttribute(_ name: String) throws -> [Int64] {
    try readAttribute(name, of: H5T_INTEGER, "an integer") { attr, _, count in
      guard count >= 0, count <= 1 << 20 else {
        throw StoreError.notAnActivationFile(path: path, reason: "attribute \(name) has an unreadable size")
      }
      var values = [Int64](repeating: 0, count: Int(count))
      try HDF5.check(H5Aread(attr, psr_h5t_native_int64(), &values), "reading attribute \(name)", path: path)
      return values
    }
  }

  /// A one-element integer attribute within `range`.
  func intScalar(_ name: String, in range: ClosedRange<Int64>) throws -> Int {
    let values = try intAttribute(name)
    guard values.count == 1 else {
      throw StoreError.notAnActivationFile(path: path, reason: "attribute \(name) holds \(values.count) values, expected 1")
    }
    guard range.contains(values[0]) else {
      throw StoreError.notAnActivationFile(path: path, reason: "attribute \(name) is \(values[0]), outside \(range)")
    }
    return Int(values[0])
  }
}

/// An extendable dataset of rank 1 or 2 (`rows × width`), chunked along rows.
struct H5Table {
  let id: hid_t
  let path: String
  let name: String
  let width: Int

  static func create(
    in parent: hid_t, name: String, fileType: hid_t, width: Int, chunkRows: Int, gzip: Int?, path: String
  ) throws -> H5Table {
    let rank: Int32 = width == 0 ? 1 : 2
    var dims: [hsize_t] = width == 0 ? [0] : [0, hsize_t(width)]
    var maxDims: [hsize_t] = width == 0 ? [psr_h5s_unlimited()] : [psr_h5s_unlimited(), hsize_t(width)]
    var chunk: [hsize_t] = width == 0 ? [hsize_t(chunkRows)] : [hsize_t(chunkRows), hsize_t(width)]
    let space = H5Screate_simple(rank, &dims, &maxDims)
    defer { H5Sclose(space) }
    let properties = H5Pcreate(psr_h5p_dataset_create())
    defer { H5Pclose(properties) }
    H5Pset_chunk(properties, rank, &chunk)
    if let gzip { H5Pset_deflate(properties, UInt32(gzip)) }
    // A Fletcher-32 checksum of every stored chunk (after compression): a corrupted activation is a
    // read error naming the dataset rather than a silently different fit. (HDF5 filters cannot
    // apply to variable-length strings, whose bytes live in the heap outside the chunks.)
    if H5Tis_variable_str(fileType) <= 0 { H5Pset_fletcher32(properties) }
    let lcpl = H5Pcreate(psr_h5p_link_create())
    defer { H5Pclose(lcpl) }
    H5Pset_create_intermediate_group(lcpl, 1)
    let id = try HDF5.check(
      H5Dcreate2(parent, name, fileType, space, lcpl, properties, psr_h5p_default()), "creating dataset \(name)", path: path)
    return H5Table(id: id, path: path, name: name, width: width)
  }

  static func open(in parent: hid_t, name: String, path: String) throws -> H5Table {
    guard H5Lexists(parent, name, psr_h5p_default()) > 0 else {
      throw StoreError.notAnActivationFile(path: path, reason: "dataset \(name) is missing")
    }
    let id = try HDF5.check(H5Dopen2(parent, name, psr_h5p_default()), "opening dataset \(name)", path: path)
    let space = H5Dget_space(id)
    defer { H5Sclose(space) }
    // The rank first: the dimensions are written into a buffer of that many entries.
    let rank = H5Sget_simple_extent_ndims(space)
    guard rank == 1 || rank == 2 else {
      H5Dclose(id)
      throw StoreError.notAnActivationFile(path: path, reason: "dataset \(name) has rank \(rank), expected 1 or 2")
    }
    var dims = [hsize_t](repeating: 0, count: 2)
    H5Sget_simple_extent_dims(space, &dims, nil)
    return H5Table(id: id, path: path, name: name, width: rank == 2 ? Int(dims[1]) : 0)
  }

  /// Rows per chunk (1 for a dataset that is not chunked).
  var chunkRows: Int {
    let plist = H5Dget_create_plist(id)
    defer { H5Pclose(plist) }
    var dims = [hsize_t](repeating: 0, count: 2)
    let rank = H5Pget_chunk(plist, 2, &dims)
    return rank >= 1 ? max(1, Int(dims[0])) : 1
  }

  var rows: Int {
    let space = H5Dget_space(id)
    defer { H5Sclose(space) }
    var dims = [hsize_t](repeating: 0, count: 2)
    H5Sget_simple_extent_dims(space, &dims, nil)
    return Int(dims[0])
  }

  func close() { H5Dclose(id) }

  /// Sets the row count (growing or truncating).
  func resize(rows: Int) throws {
    var dims: [hsize_t] = width == 0 ? [hsize_t(rows)] : [hsize_t(rows), hsize_t(width)]
    try HDF5.check(H5Dset_extent(id, &dims), "resizing \(name)", path: path)
  }

  /// Selects rows `range` of the file space and a matching memory space.
  private func spaces(_ range: Range<Int>) -> (file: hid_t, memory: hid_t) {
    let file = H5Dget_space(id)
    let rank: Int32 = width == 0 ? 1 : 2
    var start: [hsize_t] = width == 0 ? [hsize_t(range.lowerBound)] : [hsize_t(range.lowerBound), 0]
    var count: [hsize_t] = width == 0 ? [hsize_t(range.count)] : [hsize_t(range.count), hsize_t(width)]
    H5Sselect_hyperslab(file, H5S_SELECT_SET, &start, nil, &count, nil)
    let memory = H5Screate_simple(rank, &count, nil)
    return (file, memory)
  }

  /// Appends rows from `buffer` (`count × max(width, 1)` elements of `memoryType`).
  func append(_ buffer: UnsafeRawPointer, count: Int, memoryType: hid_t) throws {
    guard count > 0 else { return }
    let start = rows
    try resize(rows: start + count)
    let (file, memory) = spaces(start..<(start + count))
    defer {
      H5Sclose(file)
      H5Sclose(memory)
    }
    try HDF5.check(H5Dwrite(id, memoryType, memory, file, psr_h5p_default(), buffer), "writing \(name)", path: path)
  }

  func read(_ range: Range<Int>, into buffer: UnsafeMutableRawPointer, memoryType: hid_t) throws {
    guard !range.isEmpty else { return }
    guard range.lowerBound >= 0, range.upperBound <= rows else {
      throw StoreError.notAnActivationFile(path: path, reason: "rows \(range) of \(name) are outside 0..<\(rows)")
    }
    let (file, memory) = spaces(range)
    defer {
      H5Sclose(file)
      H5Sclose(memory)
    }
    try HDF5.check(H5Dread(id, memoryType, memory, file, psr_h5p_default(), buffer), "reading \(name)", path: path)
  }

  func appendStrings(_ strings: [String]) throws {
    for s in strings { try HDF5.checkStorable(s, what: name) }
    let type = HDF5.stringType()
    defer { H5Tclose(type) }
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var pointers = copies.map { UnsafePointer<CChar>($0) }
    try append(&pointers, count: strings.count, memoryType: type)
  }

  func readStrings(_ range: Range<Int>) throws -> [String] {
    let type = HDF5.stringType()
    defer { H5Tclose(type) }
    var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: range.count)
    try read(range, into: &pointers, memoryType: type)
    defer { pointers.forEach { free($0) } }
    return pointers.map { $0.map { String(cString: $0) } ?? "" }
  }
}
