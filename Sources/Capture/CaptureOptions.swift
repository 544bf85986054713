import LM

/// Where the steering prompt P goes in the prompted input x′.
public enum PromptPosition: String, Sendable, CaseIterable, Codable {
  /// P replaces the system message.
  case system
  /// P prefixes the user turn, AxBench style: "{P}\n\nQuestion: {x}".
  case prefix
  /// P follows the user turn after a space, as IFEval appends its instructions: "{x} {P}".
  case suffix
}

/// Options of a capture run.
public struct CaptureOptions: Sendable {
  public var steeringPrompt: String
  public var promptPosition: PromptPosition
  /// Layers to record (0-based block outputs), ascending.
  public var layers: [Int]
  /// Responses sampled per instruction (ignored when the input carries its output).
  public var samples: Int
  public var maxNewTokens: Int
  public var temperature: Float
  public var seed: UInt64
  /// Examples per batched generation and teacher-forcing pass.
  public var batchSize: Int
  /// Inputs may carry their own steering prompt, recorded per example (`steeringPrompt` is then
  /// the file's display prompt and the default of inputs without one).
  public var steeringPromptPerExample = false

  public init(
    steeringPrompt: String, promptPosition: PromptPosition = .prefix, layers: [Int], samples: Int = 1,
    maxNewTokens: Int = 128, temperature: Float = 1, seed: UInt64 = 0, batchSize: Int = 8
  ) {
    self.steeringPrompt = steeringPrompt
    self.promptPosition = promptPosition
    self.layers = layers.sorted()
    self.samples = samples
    self.maxNewTokens = maxNewTokens
    self.temperature = temperature
    self.seed = seed
    self.batchSize = batchSize
  }
}

/// One input of a capture: an instruction x and, optionally, the response y′ to force.
public struct CaptureInput: Equatable, Sendable {
  public var instruction: String
  public var output: String?
  /// This input's own steering prompt (captures with `steeringPromptPerExample` only).
  public var steeringPrompt: String?

  public init(instruction: String, output: String? = nil, steeringPrompt: String? = nil) {
    self.instruction = instruction
    self.output = output
    self.steeringPrompt = steeringPrompt
  }
}

/// The two renderings of an instruction: with the steering prompt (x′) and without (x).
public struct PromptPair: Equatable, Sendable {
  public var prompted: [Int]
  public var unprompted: [Int]
}

extension DecoderModel {
  /// x′ and x for `instruction`, chat-templated and tokenized. An empty steering prompt
  /// gives x′ = x.
  public func promptPair(instruction: String, steeringPrompt: String, position: PromptPosition) -> PromptPair {
    let unprompted = chatPrompt(user: instruction)
    guard !steeringPrompt.isEmpty else { return PromptPair(prompted: unprompted, unprompted: unprompted) }
    let prompted =
      switch position {
      case .system: chatPrompt(user: instruction, system: steeringPrompt)
      case .prefix: chatPrompt(user: "\(steeringPrompt)\n\nQuestion: \(instruction)")
      case .suffix: chatPrompt(user: "\(instruction) \(steeringPrompt)")
      }
    return PromptPair(prompted: prompted, unprompted: unprompted)
  }
}
