/// What identifies a model for the files made with it: a file made with one model is
/// refused by another.
public struct ModelFingerprint: Codable, Equatable, Sendable {
  public var name: String
  public var sha256: String
  public var layerCount: Int
  public var modelDimension: Int

  public init(name: String, sha256: String, layerCount: Int, modelDimension: Int) {
    self.name = name
    self.sha256 = sha256
    self.layerCount = layerCount
    self.modelDimension = modelDimension
  }

  /// Throws when `other` is a different model.
  public func requireMatch(_ other: ModelFingerprint, file: String) throws {
    guard self == other else { throw FingerprintMismatch(file: file, expected: self, found: other) }
  }
}

/// A file was made with another model than the one loaded.
public struct FingerprintMismatch: Error, CustomStringConvertible {
  public let file: String
  public let expected: ModelFingerprint
  public let found: ModelFingerprint

  public var description: String {
    "\(file) was made with model '\(found.name)' (sha256 \(found.sha256.prefix(12))…, \(found.layerCount) layers, "
      + "d=\(found.modelDimension)), but the loaded model is '\(expected.name)' (sha256 \(expected.sha256.prefix(12))…, "
      + "\(expected.layerCount) layers, d=\(expected.modelDimension))"
  }
}
