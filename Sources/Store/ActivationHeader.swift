/// The root attributes of an activation file (schema version 1, see docs/DESIGN.md).
public struct ActivationHeader: Equatable, Sendable, Codable {
  public static let format = "psr-activations"
  public static let formatVersion = 1

  public var modelName: String
  public var modelSHA256: String
  public var layerCount: Int
  public var modelDimension: Int
  public var steeringPrompt: String
  /// `system` or `prefix`.
  public var promptPosition: String
  public var chatTemplateID: String
  /// The capture's random seed, any UInt64 (written as an unsigned 64-bit attribute).
  public var seed: UInt64
  public var created: String
  public var toolVersion: String
  /// The layers stored under /layers, ascending.
  public var layers: [Int]
  /// `float32` or `float16`.
  public var storage: String
  /// Whether each example carries its own steering prompt (`/examples/steering_prompt`; IFEval's
  /// training prompts vary the instruction's phrasing and kwargs). `steeringPrompt` is then the
  /// most common one, for display.
  public var steeringPromptPerExample: Bool
  /// The products' precision during capture (`fp32`, or `int8` activations for K-quant weights);
  /// the attribute `compute`, absent (fp32) in files from before it.
  public var compute: String

  public init(
    modelName: String, modelSHA256: String, layerCount: Int, modelDimension: Int, steeringPrompt: String,
    promptPosition: String, chatTemplateID: String, seed: UInt64, created: String, toolVersion: String, layers: [Int],
    storage: String = "float32", steeringPromptPerExample: Bool = false, compute: String = "fp32"
  ) {
    self.compute = compute
    self.modelName = modelName
    self.modelSHA256 = modelSHA256
    self.layerCount = layerCount
    self.modelDimension = modelDimension
    self.steeringPrompt = steeringPrompt
    self.promptPosition = promptPosition
    self.chatTemplateID = chatTemplateID
    self.seed = seed
    self.created = created
    self.toolVersion = toolVersion
    self.layers = layers.sorted()
    self.storage = storage
    self.steeringPromptPerExample = steeringPromptPerExample
  }
}

/// One captured example: the response tokens and, per layer, the unprompted states and
/// the prompted-minus-unprompted deltas at those tokens (row-major `tokens × d`).
public struct CapturedExample: Equatable, Sendable {
  public var instruction: String
  /// The example's own steering prompt, when the file has one per example.
  public var steeringPrompt: String?
  public var response: String
  public var tokens: [Int32]
  public var base: [Int: [Float]]
  public var delta: [Int: [Float]]

  public init(
    instruction: String, response: String, tokens: [Int32], base: [Int: [Float]], delta: [Int: [Float]], steeringPrompt: String? = nil
  ) {
    self.instruction = instruction
    self.steeringPrompt = steeringPrompt
    self.response = response
    self.tokens = tokens
    self.base = base
    self.delta = delta
  }
}
