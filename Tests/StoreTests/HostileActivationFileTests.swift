import CHDF5
import Foundation
import Store
import TestSupport
import XCTest

/// Activation files whose root attributes were tampered with: each is a one-line error naming the
/// attribute, never a crash or a read of garbage.
final class HostileActivationFileTests: TemporaryDirectoryTestCase {
  private func makeFile(position: String = "prefix", delta: [Float] = [Float](repeating: 2, count: 8)) throws -> String {
    let path = directory.appendingPathComponent("a.h5").path
    let header = ActivationHeader(
      modelName: "test", modelSHA256: "abc", layerCount: 30, modelDimension: 4, steeringPrompt: "P", promptPosition: position,
      chatTemplateID: "chatml", seed: 7, created: "now", toolVersion: "test", layers: [3], storage: "float32")
    let writer = try ActivationWriter.create(path: path, header: header)
    try writer.append(
      CapturedExample(
        instruction: "i", response: "r", tokens: [1, 2], base: [3: [Float](repeating: 1, count: 8)], delta: [3: delta]))
    try writer.close()
    return path
  }

  /// Replaces the root attribute `name` by 64-bit integers `values` (an empty array too).
  private func setAttribute(_ path: String, _ name: String, _ values: [Int64]) {
    let file = H5Fopen(path, psr_h5f_acc_rdwr(), psr_h5p_default())
    defer { H5Fclose(file) }
    H5Adelete(file, name)
    var dims = [hsize_t(values.count)]
    let space = H5Screate_simple(1, &dims, nil)
    defer { H5Sclose(space) }
    let attr = H5Acreate2(file, name, psr_h5t_std_i64le(), space, psr_h5p_default(), psr_h5p_default())
    defer { H5Aclose(attr) }
    var copy = values
    if !copy.isEmpty { H5Awrite(attr, psr_h5t_native_int64(), &copy) }
  }

  /// Replaces the root attribute `name` by `count` strings: fixed-length ones, or variable-length.
  private func setStringAttribute(_ path: String, _ name: String, count: Int, variable: Bool) {
    let file = H5Fopen(path, psr_h5f_acc_rdwr(), psr_h5p_default())
    defer { H5Fclose(file) }
    H5Adelete(file, name)
    var dims = [hsize_t(count)]
    let space = H5Screate_simple(1, &dims, nil)
    defer { H5Sclose(space) }
    let type = H5Tcopy(psr_h5t_c_s1())
    defer { H5Tclose(type) }
    H5Tset_size(type, variable ? Int(bitPattern: UInt.max) : 4)  // H5T_VARIABLE
    let attr = H5Acreate2(file, name, type, space, psr_h5p_default(), psr_h5p_default())
    defer { H5Aclose(attr) }
    if variable {
      let strings = (0..<count).map { strdup("s\($0)") }
      defer { strings.forEach { free($0) } }
      var pointers = strings.map { UnsafePointer($0) }
      H5Awrite(attr, type, &pointers)
    } else {
      var bytes = [CChar](repeating: 65, count: 4 * count)
      H5Awrite(attr, type, &bytes)
    }
  }

  /// H5Aread fills every element of an attribute's dataspace; a string attribute of two elements
  /// once overflowed the reader's one-string buffer (found by the in-process HDF5 fuzzer,
  /// fuzz/crashes/hdf5/ours-string-attribute-of-two-elements).
  func testStringAttributesOfSeveralElementsAreNamedErrors() throws {
    for variable in [false, true] {
      for count in [0, 2, 64] {
        let path = try makeFile()
        setStringAttribute(path, "model_name", count: count, variable: variable)
        XCTAssertThrowsError(try ActivationReader(path: path), "\(count) strings, variable \(variable)") { error in
          XCTAssertTrue("\(error)".contains("attribute model_name holds \(count) strings, expected 1"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: path)
      }
    }
  }

  func testTamperedAttributesAreNamedErrors() throws {
    let cases: [(String, [Int64])] = [
      ("n_examples", [-5]), ("n_examples", []), ("n_examples", [1, 2]), ("n_examples", [1 << 50]), ("n_examples", [9]),
      ("d_model", [0]), ("d_model", [-3]), ("n_layers", [-1]), ("layers", [50]), ("layers", []), ("layers", [3, 3]),
      ("format_version", []),
    ]
    for (name, values) in cases {
      let path = try makeFile()
      setAttribute(path, name, values)
      XCTAssertThrowsError(try ActivationReader(path: path), "\(name) = \(values)") { error in
        XCTAssertTrue(error is StoreError, "\(error)")
        XCTAssertFalse("\(error)".contains("\n"))
        // n_examples = 9 is caught by the offsets it needs; the others by their own check.
        if values != [9] { XCTAssertTrue("\(error)".contains(name), "\(name) = \(values): \(error)") }
      }
      try FileManager.default.removeItem(atPath: path)
    }
  }

  /// An attribute of the wrong class (a string where an integer belongs, or the reverse) is named, never
  /// read through a conversion.
  func testAttributesOfTheWrongClassAreNamed() throws {
    for name in ["seed", "n_layers", "layers"] {
      let path = try makeFile()
      setStringAttribute(path, name, count: 1, variable: false)
      XCTAssertThrowsError(try ActivationReader(path: path), name) { error in
        XCTAssertTrue("\(error)".contains("attribute \(name) is not an integer"), "\(error)")
      }
      try FileManager.default.removeItem(atPath: path)
    }
    for name in ["model_name", "format", "storage"] {
      let path = try makeFile()
      setAttribute(path, name, [1])
      XCTAssertThrowsError(try ActivationReader(path: path), name) { error in
        XCTAssertTrue("\(error)".contains("attribute \(name) is not a string"), "\(error)")
      }
      try FileManager.default.removeItem(atPath: path)
    }
    let path = try makeFile()
    setAttribute(path, "seed", [1, 2])
    XCTAssertThrowsError(try ActivationReader(path: path)) { error in
      XCTAssertTrue("\(error)".contains("attribute seed holds 2 values, expected 1"), "\(error)")
    }
  }

  func testNonFiniteActivationsAreNamedWhenRead() throws {
    for bad in [Float.nan, .infinity, -.infinity] {
      var delta = [Float](repeating: 2, count: 8)
      delta[6] = bad
      let path = try makeFile(delta: delta)
      let reader = try ActivationReader(path: path)
      XCTAssertEqual(try reader.base(layer: 3), [Float](repeating: 1, count: 8))
      XCTAssertThrowsError(try reader.delta(layer: 3)) { error in
        XCTAssertTrue("\(error)".contains("layers/3/delta holds \(bad) at row 1, column 2"), "\(error)")
      }
      try FileManager.default.removeItem(atPath: path)
    }
  }

  func testUnknownPromptPositionIsNamed() throws {
    XCTAssertEqual(try ActivationReader(path: try makeFile(position: "system")).header.promptPosition, "system")
    try FileManager.default.removeItem(atPath: directory.appendingPathComponent("a.h5").path)
    XCTAssertThrowsError(try ActivationReader(path: try makeFile(position: "x"))) { error in
      XCTAssertTrue("\(error)".contains("prompt_position is 'x'"), "\(error)")
    }
  }

  func testExampleTablesShorterThanTheExamplesOrMissingAreNamed() throws {
    for name in ["examples/instruction", "examples/response"] {
      for remove in [false, true] {
        let path = try makeFile()
        let file = H5Fopen(path, psr_h5f_acc_rdwr(), psr_h5p_default())
        if remove {
          H5Ldelete(file, name, psr_h5p_default())
        } else {
          let dataset = H5Dopen2(file, name, psr_h5p_default())
          var rows: [hsize_t] = [0]
          H5Dset_extent(dataset, &rows)
          H5Dclose(dataset)
        }
        H5Fclose(file)
        XCTAssertThrowsError(try ActivationReader(path: path), "\(name) removed: \(remove)") { error in
          XCTAssertTrue("\(error)".contains(remove ? "\(name) is missing" : "\(name) has 0 rows for 1 examples"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: path)
      }
    }
  }

  func testZeroExamplesReadsAsEmpty() throws {
    let path = try makeFile()
    setAttribute(path, "n_examples", [0])
    let reader = try ActivationReader(path: path)
    XCTAssertEqual(reader.exampleCount, 0)
    XCTAssertEqual(reader.tokenCount, 0)
  }
}
