import Judges

/// The scores that a response, a unit's set of responses or a method's mean over units carries:
/// AxBench's concept, instruction and fluency scores (0–2) and their harmonic mean, the persona
/// trait score and coherence (0–100), and IFEval's strict and loose accuracy (% of responses that
/// follow every instruction). A score the bench does not have is nil and left out of the JSON.
///
/// One type for ``GenerationRecord``, ``ScoreSummary`` and ``SummaryRow``: in their JSON its members
/// sit flat beside the owner's own (`"n": 5, "harmonic": 1.1`), as they did before it was a type,
/// and the owners read them as their own properties (`summary.harmonic`, ``CarriesScores``).
public struct Scores: Codable, Equatable, Sendable {
  public var conceptScore: Double?
  public var instructScore: Double?
  public var fluencyScore: Double?
  public var harmonic: Double?
  public var traitScore: Double?
  public var coherence: Double?
  public var ifStrict: Double?
  public var ifLoose: Double?

  enum CodingKeys: String, CodingKey {
    case conceptScore = "concept_score"
    case instructScore = "instruct_score"
    case fluencyScore = "fluency_score"
    case harmonic
    case traitScore = "trait_score"
    case coherence
    case ifStrict = "if_strict"
    case ifLoose = "if_loose"
  }

  public init(
    conceptScore: Double? = nil, instructScore: Double? = nil, fluencyScore: Double? = nil, harmonic: Double? = nil,
    traitScore: Double? = nil, coherence: Double? = nil, ifStrict: Double? = nil, ifLoose: Double? = nil
  ) {
    self.conceptScore = conceptScore
    self.instructScore = instructScore
    self.fluencyScore = fluencyScore
    self.harmonic = harmonic
    self.traitScore = traitScore
    self.coherence = coherence
    self.ifStrict = ifStrict
    self.ifLoose = ifLoose
  }

  /// One AxBench judgement.
  public init(_ s: AxBenchScores) {
    self.init(conceptScore: s.concept, instructScore: s.instruct, fluencyScore: s.fluency, harmonic: s.harmonic)
  }

  /// One persona judgement.
  public init(_ s: PersonaScores) { self.init(traitScore: s.trait, coherence: s.coherence) }

  static var all: [WritableKeyPath<Scores, Double?>] {
    [\.conceptScore, \.instructScore, \.fluencyScore, \.harmonic, \.traitScore, \.coherence, \.ifStrict, \.ifLoose]
  }

  /// Each score's mean over the members that have it (nil where none has it).
  public static func mean(_ members: [Scores]) -> Scores {
    var out = Scores()
    for k in all {
      let v = members.compactMap { $0[keyPath: k] }
      out[keyPath: k] = v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
    }
    return out
  }
}

/// A type whose ``Scores`` read as its own members (`row.harmonic` for `row.scores.harmonic`).
@dynamicMemberLookup
public protocol CarriesScores {
  var scores: Scores { get set }
}

extension CarriesScores {
  public subscript<T>(dynamicMember key: WritableKeyPath<Scores, T>) -> T {
    get { scores[keyPath: key] }
    set { scores[keyPath: key] = newValue }
  }
}
