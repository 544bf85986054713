import Foundation
import LM

/// What a steering file holds: its kind decides which intervention it makes.
public enum SteeringKind: String, Codable, Sendable, CaseIterable {
  /// Fine-tuned steering vector at every position.
  case fssv
  /// Prompt-only steering vector at the first p / last s prompt positions.
  case prosv
  /// Mean of captured deltas, constant coefficient.
  case diffmean
  /// Best constant α·z in the MSE sense.
  case constMSE = "const-mse"
  /// Prompt Steering Replacement: token-specific gate per layer.
  case psr
  /// Constant vectors imported from a llama.cpp or repeng control vector (GGUF).
  case controlVector = "control-vector"
}

/// h ← h + α·v at `layer` on `positions` (α is the trained or chosen factor).
public struct VectorEntry: Codable, Equatable, Sendable {
  public var layer: Int
  public var positions: PositionSet
  public var alpha: Float
  public var vector: [Float]

  public init(layer: Int, positions: PositionSet, alpha: Float, vector: [Float]) {
    self.layer = layer
    self.positions = positions
    self.alpha = alpha
    self.vector = vector
  }
}

/// h ← h + (c − h·û)·û at `layer` on `positions` (Stolfo et al.'s projection steering, ``ProjectionShift``);
/// `direction` is û (stored normalised), `target` c, which the file's α and a factor scale.
public struct ProjectionEntry: Codable, Equatable, Sendable {
  public var layer: Int
  public var positions: PositionSet
  public var direction: [Float]
  public var target: Float

  public init(layer: Int, positions: PositionSet, direction: [Float], target: Float) {
    self.layer = layer
    self.positions = positions
    self.direction = direction
    self.target = target
  }
}

/// h ← h + α·ReLU(w·h + b)·z at `layer` on response tokens.
public struct GateEntry: Codable, Equatable, Sendable {
  public var layer: Int
  public var weight: [Float]
  public var bias: Float
  public var direction: [Float]

  public init(layer: Int, weight: [Float], bias: Float, direction: [Float]) {
    self.layer = layer
    self.weight = weight
    self.bias = bias
    self.direction = direction
  }
}

/// A steering file (JSON): format and version, the model fingerprint and tokenizer/template
/// it was made with, a global factor `alpha`, and the vectors or gates.
public struct SteeringFile: Codable, Equatable, Sendable {
  public static let format = "psr-steering"
  public static let currentVersion = 1

  public var format: String = SteeringFile.format
  public var formatVersion: Int = SteeringFile.currentVersion
  public var kind: SteeringKind
  public var model: ModelFingerprint
  public var tokenizer: String
  public var chatTemplate: String
  /// Global strength; a factor sweep multiplies it. Vector entries also carry their own α.
  public var alpha: Float = 1
  public var vectors: [VectorEntry] = []
  public var gates: [GateEntry] = []
  /// Projection edits (absent from files that have none, and from files before them).
  public var projections: [ProjectionEntry]?
  /// How it was made: options and metrics, as strings and numbers.
  public var training: [String: JSONScalar] = [:]
  public var created: String = ISO8601DateFormatter().string(from: Date())

  enum CodingKeys: String, CodingKey {
    case format
    case formatVersion = "format_version"
    case kind, model, tokenizer
    case chatTemplate = "chat_template"
    case alpha, vectors,
      gates, projections, training, created
  }

  public init(kind: SteeringKind, model: ModelFingerprint, tokenizer: String, chatTemplate: String) {
    self.kind = kind
    self.model = model
    self.tokenizer = tokenizer
    self.chatTemplate = chatTemplate
  }

  public init(kind: SteeringKind, for model: DecoderModel) throws {
    self.init(
      kind: kind, model: try model.fingerprint, tokenizer: model.tokenizer.identifier,
      chatTemplate: model.chatTemplate.identifier)
    training["compute"] = .string(model.computePrecision.rawValue)
  }

  /// Whether `path` names a regular file (not a directory, device or FIFO), without opening it.
  static func isRegularFile(_ path: String) -> Bool {
    (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular
  }

  /// Reads and validates a file; throws naming the file and what is wrong.
  public static func load(_ path: String) throws -> SteeringFile {
    // Foundation's own reasons read "error 256" for a directory and "no permission" for /dev/null.
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw SteeringFileError.unreadable(path: path, reason: "no such file")
    }
    guard !isDirectory.boolValue else { throw SteeringFileError.unreadable(path: path, reason: "it is a directory; give a file") }
    // A device or a FIFO (/dev/null, a shell's <(…)) is refused before reading: a FIFO read could wait forever.
    guard isRegularFile(path) else { throw SteeringFileError.unreadable(path: path, reason: "it is not a regular file") }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw SteeringFileError.unreadable(path: path, reason: "the file cannot be opened (check its permissions)")
    }
    guard !data.isEmpty else { throw SteeringFileError.malformed(path: path, reason: "it is empty") }
    return try decode(data, path: path)
  }

  /// Decodes and validates the bytes of a steering file; `path` names it in errors.
  public static func decode(_ data: Data, path: String) throws -> SteeringFile {
    let file: SteeringFile
    do { file = try JSONDecoder().decode(SteeringFile.self, from: data) } catch {
      throw SteeringFileError.malformed(path: path, reason: describeDecodingFailure(error))
    }
    guard file.format == format else {
      throw SteeringFileError.malformed(path: path, reason: "format is '\(file.format)', not '\(format)'")
    }
    guard file.formatVersion <= currentVersion else {
      throw SteeringFileError.malformed(
        path: path, reason: "format_version \(file.formatVersion) is newer than this tool (\(currentVersion))")
    }
    guard !file.vectors.isEmpty || !file.gates.isEmpty || !(file.projections ?? []).isEmpty else {
      throw SteeringFileError.malformed(path: path, reason: "it holds no vector, gate or projection, so it would steer nothing")
    }
    let d = file.model.modelDimension
    for v in file.vectors where v.vector.count != d {
      throw SteeringFileError.malformed(path: path, reason: "a vector at layer \(v.layer) has \(v.vector.count) values, the model \(d)")
    }
    for g in file.gates where g.weight.count != d || g.direction.count != d {
      throw SteeringFileError.malformed(path: path, reason: "the gate at layer \(g.layer) does not have \(d) values")
    }
    for p in file.projections ?? [] {
      guard p.direction.count == d else {
        throw SteeringFileError.malformed(path: path, reason: "the projection at layer \(p.layer) has \(p.direction.count) values, the model \(d)")
      }
      guard p.direction.contains(where: { $0 != 0 }) else {
        throw SteeringFileError.malformed(path: path, reason: "the projection at layer \(p.layer) has a zero direction")
      }
    }
    return file
  }

  /// Writes atomically (temporary name, then rename), pretty-printed for diffing.
  /// A parameter that is not finite (JSON has no NaN) or a failed write is an error naming the path.
  public func save(_ path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data: Data
    do { data = try encoder.encode(self) } catch {
      throw SteeringFileError.unwritable(path: path, reason: "a parameter is not a finite number; nothing was written")
    }
    do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch let error as NSError {
      let reason = (error.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap {
        $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : nil
      }
      throw SteeringFileError.unwritable(path: path, reason: reason ?? error.localizedDescription)
    }
  }

  /// The intervention this file describes, for `model`, with its global α times `factor`.
  /// Throws when the file was made with another model.
  public func intervention(for model: DecoderModel, factor: Float = 1, file: String = "steering file") throws -> any Intervention {
    try model.fingerprint.requireMatch(self.model, file: file)
    let scale = alpha * factor
    var members: [any Intervention] = vectors.map {
      AdditiveVector(layer: $0.layer, alpha: $0.alpha * scale, vector: $0.vector, positions: $0.positions)
    }
    if !gates.isEmpty { members.append(PSRGate(gates: gates, alpha: scale)) }
    members += (projections ?? []).map {
      ProjectionShift(layer: $0.layer, direction: $0.direction, target: $0.target * scale, positions: $0.positions)
    }
    for m in members {
      for l in m.layers where l < 0 || l >= model.configuration.layerCount {
        throw SteeringError.layerOutOfRange(l, layerCount: model.configuration.layerCount)
      }
    }
    return members.count == 1 ? members[0] : InterventionChain(members)
  }
}

/// A number or string in a file's free-form `training` record.
public enum JSONScalar: Codable, Equatable, Sendable, CustomStringConvertible {
  case number(Double)
  case string(String)
  case bool(Bool)

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let d = try? c.decode(Double.self) {
      self = .number(d)
    } else {
      self = .string(try c.decode(String.self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .number(let d): try c.encode(d)
    case .string(let s): try c.encode(s)
    case .bool(let b): try c.encode(b)
    }
  }

  public var description: String {
    switch self {
    // Counts and seeds print as integers (12, not 12.0); other numbers as Swift prints them.
    case .number(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
    case .string(let s): s
    case .bool(let b): "\(b)"
    }
  }
}

public enum SteeringFileError: Error, CustomStringConvertible {
  case unreadable(path: String, reason: String)
  case malformed(path: String, reason: String)
  case notExportable(String)
  case unwritable(path: String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let path, let reason): "cannot read steering file \(path): \(reason)"
    case .malformed(let path, let reason): "\(path) is not a valid steering file: \(reason)"
    case .notExportable(let why): "cannot export: \(why)"
    case .unwritable(let path, let reason): "cannot write steering file \(path): \(reason)"
    }
  }
}
