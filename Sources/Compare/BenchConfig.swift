import Foundation
import PSR

/// The knobs of a benchmark run; `small` and `paper` are the presets of `--budget`.
public struct BenchConfig: Sendable, Equatable {
  public var layer = 15
  /// AxBench: training instructions sampled per concept; persona: extract questions used.
  public var trainSamples: Int
  public var trainTokens: Int
  /// AxBench: eval instructions per concept (half select the factor, half test).
  public var evalInstructions: Int
  public var evalTokens: Int
  public var factors: [Float]
  public var temperature: Float = 1
  public var steeringVectorEpochs: Int
  public var personaEvalQuestions: Int
  /// IFEval: prompts per instruction id (half choose the factor, half test it); the format subset
  /// has 5 to 19 per id.
  public var ifevalPrompts = 4
  /// IFEval: what `psr` and `apsr` minimise on IFEval units. The PSR paper found the
  /// log-likelihood of the prompted responses better than MSE for instruction following.
  public var ifevalPSRObjective: PSRObjective = .ll
  /// The model's layer count, which `mse-through` needs to capture every layer from the steered one.
  public var modelLayerCount = 0
  public var bisectionSteps: Int
  public var methods: [String]
  public var seed: UInt64 = 0
  /// A-PSR: the layers fitted jointly through the model (every third layer, which includes
  /// the S-PSR layer 15 of the 30-layer default model), and its epochs.
  public var apsrLayers = [3, 6, 9, 12, 15, 18, 21, 24, 27]
  public var apsrEpochs = 4
  /// Steering files and control vectors given by the user, evaluated as methods of their own
  /// (method name → path); the same file steers every unit.
  public var steeringFiles: [String: String] = [:]
  /// Sequences generated at once when evaluating factors, and examples captured per batch:
  /// what the memory budget allows (`compare --memory-budget`). Each sequence draws its own
  /// random stream, so splitting a unit's generations changes none of them where the decode
  /// products run the quantized kernels (batch-invariant), and only summation order otherwise.
  public var generationBatch = Int.max
  public var captureBatch = 16
  /// AxBench: measure each method's operating points on suppressed prompts, GSM8K and the
  /// reference answers (the PrOSV paper's robustness and utility).
  public var utility = true
  /// GSM8K problems per operating point (the paper's tinyGSM8K: 100) and their answer length.
  public var gsm8kProblems = 4
  public var gsm8kTokens = 128
  /// AlpacaEval GPT-4 answers teacher-forced per operating point, cut at `referenceTokens`.
  public var referenceAnswers = 8
  public var referenceTokens = 64

  /// The methods a run can ask for; `apsr` (A-PSR) is run only when asked, since it captures
  /// every A-PSR layer and trains through the model.
  public static let allMethods = BenchMethod.allCases.map(\.rawValue)
  /// The methods of a run that names none.
  public static let defaultMethods = ["prompt", "psr", "prosv", "fssv", "diffmean", "none"]

  /// The layers a unit's capture holds: the steered layer, and every layer a method reads.
  public var captureLayers: [Int] {
    Array(Set([layer] + steeringMethods.filter(\.needsCapture).flatMap { $0.captureLayers(self) })).sorted()
  }

  public static let small = BenchConfig(
    trainSamples: 8, trainTokens: 32, evalInstructions: 4, evalTokens: 32, factors: [0.5, 1, 2, 4], steeringVectorEpochs: 2,
    personaEvalQuestions: 4, bisectionSteps: 2, methods: defaultMethods)

  /// AxBench's protocol: 72 training samples of 128 tokens, 10 eval instructions (5 + 5),
  /// 14 factors, 128-token responses at temperature 1; the PrOSV paper's 12 epochs.
  public static let paper = BenchConfig(
    trainSamples: 72, trainTokens: 128, evalInstructions: 10, evalTokens: 128,
    factors: [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.5, 3.0, 4.0, 5.0], steeringVectorEpochs: 12,
    personaEvalQuestions: 20, ifevalPrompts: 1000, bisectionSteps: 6, methods: defaultMethods, gsm8kProblems: 100, gsm8kTokens: 256,
    referenceAnswers: 100, referenceTokens: 128)

  public var selectCount: Int { evalInstructions / 2 }

  /// The run's settings as strings, for results.json.
  public var record: [String: String] {
    [
      "layer": "\(layer)", "train_samples": "\(trainSamples)", "train_tokens": "\(trainTokens)",
      "eval_instructions": "\(evalInstructions)", "eval_tokens": "\(evalTokens)",
      "factors": factors.map { "\($0)" }.joined(separator: ","), "temperature": "\(temperature)",
      "sv_epochs": "\(steeringVectorEpochs)", "persona_eval_questions": "\(personaEvalQuestions)",
      "bisection_steps": "\(bisectionSteps)", "ifeval_prompts": "\(ifevalPrompts)", "ifeval_psr_objective": ifevalPSRObjective.rawValue,
      "methods": methods.joined(separator: ","), "seed": "\(seed)",
    ].merging(
      // Only runs that measure utility name it, so that a run started without it (an IFEval or persona
      // run, or one from before it) resumes with the same settings.
      utility
        ? [
          "utility": "true", "gsm8k_problems": "\(gsm8kProblems)", "gsm8k_tokens": "\(gsm8kTokens)",
          "reference_answers": "\(referenceAnswers)", "reference_tokens": "\(referenceTokens)",
        ] : [:]
    ) { a, _ in a }.merging(steeringFiles.map { ("steer_\($0.key)", $0.value) }) { a, _ in a }.merging(
      methods.contains("apsr")
        ? ["apsr_layers": apsrLayers.map(String.init).joined(separator: ","), "apsr_epochs": "\(apsrEpochs)"] : [:]
    ) { a, _ in a }
  }
}

/// The built-in methods of a benchmark.
public enum BenchMethod: String, CaseIterable, Sendable {
  case prompt, psr, apsr, prosv, fssv, diffmean, none
  /// DiffMean at the last prompt token (Stolfo et al.), on request.
  case diffmeanLast = "diffmean-last"
  /// Its projection variant: each state's projection onto the direction set to the mean.
  case diffmeanProj = "diffmean-proj"
  /// PrOSV and FSSV trained with SimPO (the captured response over the model's own), on request.
  case prosvSimpo = "prosv-simpo"
  case fssvSimpo = "fssv-simpo"
}

/// A stable 64-bit hash (FNV-1a) of a unit id, for per-unit seeds.
func stableHash(_ text: String) -> UInt64 {
  var h: UInt64 = 0xcbf2_9ce4_8422_2325
  for b in text.utf8 {
    h ^= UInt64(b)
    h = h &* 0x100_0000_01b3
  }
  return h
}
