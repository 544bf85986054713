import Foundation
import LM

/// Mean scores over a set of responses: their number and their ``Scores`` (AxBench, persona or
/// IFEval fields set), which read as its own (`summary.harmonic`).
public struct ScoreSummary: Codable, Equatable, Sendable, CarriesScores {
  public var n: Int
  public var scores: Scores

  public init(
    n: Int, conceptScore: Double? = nil, instructScore: Double? = nil, fluencyScore: Double? = nil, harmonic: Double? = nil,
    traitScore: Double? = nil, coherence: Double? = nil, ifStrict: Double? = nil, ifLoose: Double? = nil
  ) {
    self.init(
      n: n,
      scores: Scores(
        conceptScore: conceptScore, instructScore: instructScore, fluencyScore: fluencyScore, harmonic: harmonic, traitScore: traitScore,
        coherence: coherence, ifStrict: ifStrict, ifLoose: ifLoose))
  }

  public init(n: Int, scores: Scores) {
    self.n = n
    self.scores = scores
  }

  /// The mean of `members`' scores.
  public init(of members: [Scores]) { self.init(n: members.count, scores: .mean(members)) }

  enum CodingKeys: String, CodingKey { case n }

  public init(from decoder: any Decoder) throws {
    n = try decoder.container(keyedBy: CodingKeys.self).decode(Int.self, forKey: .n)
    scores = try Scores(from: decoder)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(n, forKey: .n)
    try scores.encode(to: encoder)
  }

  /// The headline number: harmonic for AxBench, trait score for persona, strict accuracy for IFEval.
  public var headline: Double { scores.harmonic ?? scores.traitScore ?? scores.ifStrict ?? 0 }
}

/// One steering factor of one method on one unit.
public struct FactorResult: Codable, Equatable, Sendable {
  public var factor: Float
  /// Scores on the selection instructions (AxBench) or all eval questions (persona).
  public var select: ScoreSummary
  /// Scores on the held-out test instructions (AxBench only).
  public var test: ScoreSummary?

  public init(factor: Float, select: ScoreSummary, test: ScoreSummary?) {
    self.factor = factor
    self.select = select
    self.test = test
  }
}

/// One method on one unit (a concept or a trait).
public struct MethodResult: Codable, Equatable, Sendable {
  public var method: String
  /// A jointly trained vector scored at its trained α (factor 1) without selection, beside the
  /// same method's row at its selected factor (schema 1 wrote this as the name `NAME@trained`).
  public var trained = false
  /// IFEval: the method steered with the instruction kept in the prompt (does steering reinforce
  /// it?), beside its row without the instruction (schema 1: the name `NAME+prompt`).
  public var withInstruction = false
  public var factors: [FactorResult]
  /// The factor chosen on the selection instructions (AxBench) or by coherence matching (persona).
  public var selectedFactor: Float?
  /// The unit's score for this method: test scores at the selected factor (AxBench), or scores at
  /// the coherence-matched factor (persona).
  public var score: ScoreSummary
  /// Persona: scores at factor 1 (the trained or fitted strength).
  public var atUnitFactor: ScoreSummary?
  /// Persona: scores at the factor bisected to coherence 80 (the PSR paper's TA@C80), and that factor.
  public var atCoherence80: ScoreSummary?
  public var coherence80Factor: Float?

  enum CodingKeys: String, CodingKey {
    case method, trained, factors
    case withInstruction = "with_instruction"
    case selectedFactor = "selected_factor"
    case score
    case atUnitFactor = "at_unit_factor"
    case atCoherence80 = "at_coherence_80"
    case coherence80Factor = "coherence_80_factor"
  }

  public init(
    method: String, trained: Bool = false, withInstruction: Bool = false, factors: [FactorResult], selectedFactor: Float?,
    score: ScoreSummary, atUnitFactor: ScoreSummary?
  ) {
    self.method = method
    self.trained = trained
    self.withInstruction = withInstruction
    self.factors = factors
    self.selectedFactor = selectedFactor
    self.score = score
    self.atUnitFactor = atUnitFactor
  }

  /// The row's name in reports: the method, `NAME@trained` at the trained α, `NAME+prompt`.
  public var label: String { MethodLabel.text(method, trainedAlphaFraction: trained ? 1 : nil, withInstruction: withInstruction) }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let parts = try MethodLabel.decode(c, method: .method, trained: .trained, withInstruction: .withInstruction)
    (method, trained, withInstruction) = (parts.method, parts.trainedAlphaFraction == 1, parts.withInstruction)
    factors = try c.decode([FactorResult].self, forKey: .factors)
    selectedFactor = try c.decodeIfPresent(Float.self, forKey: .selectedFactor)
    score = try c.decode(ScoreSummary.self, forKey: .score)
    atUnitFactor = try c.decodeIfPresent(ScoreSummary.self, forKey: .atUnitFactor)
    atCoherence80 = try c.decodeIfPresent(ScoreSummary.self, forKey: .atCoherence80)
    coherence80Factor = try c.decodeIfPresent(Float.self, forKey: .coherence80Factor)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(method, forKey: .method)
    if trained { try c.encode(trained, forKey: .trained) }
    if withInstruction { try c.encode(withInstruction, forKey: .withInstruction) }
    try c.encode(factors, forKey: .factors)
    try c.encodeIfPresent(selectedFactor, forKey: .selectedFactor)
    try c.encode(score, forKey: .score)
    try c.encodeIfPresent(atUnitFactor, forKey: .atUnitFactor)
    try c.encodeIfPresent(atCoherence80, forKey: .atCoherence80)
    try c.encodeIfPresent(coherence80Factor, forKey: .coherence80Factor)
  }
}

/// How reports name a method's rows and operating points: `NAME` at its selected factor,
/// `NAME@trained` at its trained α, `NAME@0.8α` at a fraction of it, and `NAME+prompt` where it
/// steered with IFEval's instruction kept in the prompt. Results hold the method and these as
/// fields; only files of schema 1, which held the label alone, are read back through it.
public enum MethodLabel {
  public static func text(_ method: String, trainedAlphaFraction: Float? = nil, withInstruction: Bool = false) -> String {
    let base = withInstruction ? method + "+prompt" : method
    guard let f = trainedAlphaFraction else { return base }
    return f == 1 ? base + "@trained" : base + "@" + String(format: "%g", Double(f)) + "α"
  }

  /// A method and what its row or point is (``text(_:trainedAlphaFraction:withInstruction:)``).
  struct Parts {
    var method: String
    var trainedAlphaFraction: Float? = nil
    var withInstruction = false
  }

  /// The parts under `method` and the given field keys (schema 2); where a field is absent, what a
  /// schema-1 label under `method` says. Schema 2 names hold neither `@` nor `+` (built-in methods,
  /// and `--steer` names are letters, digits, `-`, `_` and `.`), so a schema-2 name reads as itself.
  static func decode<Key: CodingKey>(
    _ c: KeyedDecodingContainer<Key>, method: Key, trained: Key? = nil, fraction: Key? = nil, withInstruction: Key? = nil
  ) throws -> Parts {
    var parts = schema1(try c.decode(String.self, forKey: method))
    if let trained, let t = try c.decodeIfPresent(Bool.self, forKey: trained) { parts.trainedAlphaFraction = t ? 1 : nil }
    if let fraction, let f = try c.decodeIfPresent(Float.self, forKey: fraction) { parts.trainedAlphaFraction = f }
    if let withInstruction, let w = try c.decodeIfPresent(Bool.self, forKey: withInstruction) { parts.withInstruction = w }
    return parts
  }

  /// A schema-1 label read into its parts: `NAME[+prompt][@trained|@Fα]`; any other name is a method.
  static func schema1(_ label: String) -> Parts {
    var name = Substring(label)
    var fraction: Float? = nil
    if name.hasSuffix("@trained") {
      name = name.dropLast("@trained".count)
      fraction = 1
    } else if name.hasSuffix("α"), let at = name.lastIndex(of: "@"), let f = Float(name[name.index(after: at)...].dropLast()),
      f.isFinite, f > 0
    {
      name = name[..<at]
      fraction = f
    }
    let prompted = name.hasSuffix("+prompt") && name.count > "+prompt".count
    if prompted { name = name.dropLast("+prompt".count) }
    return Parts(method: String(name), trainedAlphaFraction: fraction, withInstruction: prompted)
  }
}

/// All methods on one concept or trait.
public struct UnitResult: Codable, Equatable, Sendable {
  public var bench: Benchmark
  public var unitID: String
  public var name: String
  public var methods: [MethodResult]
  /// AxBench: each steered method at its selected (and trained) factor and the baselines, on the
  /// suppressed prompts, GSM8K and the reference answers (absent when the run skipped them).
  public var operatingPoints: [OperatingPoint]?

  enum CodingKeys: String, CodingKey {
    case bench
    case unitID = "unit_id"
    case name, methods
    case operatingPoints = "operating_points"
  }

  public init(bench: Benchmark, unitID: String, name: String, methods: [MethodResult]) {
    self.bench = bench
    self.unitID = unitID
    self.name = name
    self.methods = methods
  }
}

/// Per bench × method, the mean over units of each score.
public struct SummaryRow: Codable, Equatable, Sendable, CarriesScores {
  public var bench: Benchmark
  public var method: String
  /// Rows of jointly trained vectors at their trained α (``MethodResult/trained``).
  public var trained = false
  /// IFEval rows steered with the instruction in the prompt (``MethodResult/withInstruction``).
  public var withInstruction = false
  public var nUnits: Int
  public var scores: Scores
  /// Half-width of the 95% confidence interval of the headline score over units.
  public var ci95: Double

  public init(
    bench: Benchmark, method: String, trained: Bool = false, withInstruction: Bool = false, nUnits: Int, scores: Scores, ci95: Double
  ) {
    self.bench = bench
    self.method = method
    self.trained = trained
    self.withInstruction = withInstruction
    self.nUnits = nUnits
    self.scores = scores
    self.ci95 = ci95
  }

  /// The row's name in reports (`NAME@trained`, `NAME+prompt`).
  public var label: String { MethodLabel.text(method, trainedAlphaFraction: trained ? 1 : nil, withInstruction: withInstruction) }

  enum CodingKeys: String, CodingKey {
    case bench, method, trained
    case withInstruction = "with_instruction"
    case nUnits = "n_units"
    case ci95 = "ci95"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    bench = try c.decode(Benchmark.self, forKey: .bench)
    let parts = try MethodLabel.decode(c, method: .method, trained: .trained, withInstruction: .withInstruction)
    (method, trained, withInstruction) = (parts.method, parts.trainedAlphaFraction == 1, parts.withInstruction)
    nUnits = try c.decode(Int.self, forKey: .nUnits)
    ci95 = try c.decode(Double.self, forKey: .ci95)
    scores = try Scores(from: decoder)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(bench, forKey: .bench)
    try c.encode(method, forKey: .method)
    if trained { try c.encode(trained, forKey: .trained) }
    if withInstruction { try c.encode(withInstruction, forKey: .withInstruction) }
    try c.encode(nUnits, forKey: .nUnits)
    try c.encode(ci95, forKey: .ci95)
    try scores.encode(to: encoder)
  }
}

/// results.json (schema documented in docs/COMPARE.md).
public struct BenchResults: Codable, Equatable, Sendable {
  /// 2: a trained row is the method with `"trained": true`, an operating point at a fraction of
  /// the trained α has `trained_alpha_fraction`, and an IFEval row steered with the instruction in
  /// the prompt has `"with_instruction": true`, where 1 named them `NAME@trained`, `fssv@0.8α` and
  /// `NAME+prompt` (still read).
  public static let schemaVersion = 2
  public var schemaVersion = BenchResults.schemaVersion
  public var config: [String: String]
  public var summary: [SummaryRow]
  /// Means over AxBench units of each operating point (utility and robustness); nil without any.
  public var operatingPoints: [OperatingPointRow]?
  public var units: [UnitResult]

  enum CodingKeys: String, CodingKey {
    case schemaVersion = "schema_version"
    case config, summary, units
    case operatingPoints = "operating_points"
  }

  /// Reads schema 1 and 2 (held as 2 once read); refuses a newer schema, naming it.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let version = try c.decode(Int.self, forKey: .schemaVersion)
    guard (1...Self.schemaVersion).contains(version) else {
      throw DecodingError.dataCorruptedError(
        forKey: .schemaVersion, in: c,
        debugDescription: "schema_version \(version) is not one this build reads (1...\(Self.schemaVersion)); a newer psr-steering wrote it")
    }
    config = try c.decode([String: String].self, forKey: .config)
    summary = try c.decode([SummaryRow].self, forKey: .summary)
    operatingPoints = try c.decodeIfPresent([OperatingPointRow].self, forKey: .operatingPoints)
    units = try c.decode([UnitResult].self, forKey: .units)
  }

  public init(config: [String: String], units: [UnitResult]) {
    self.config = config
    self.units = units.sorted { ($0.bench, $0.unitID) < ($1.bench, $1.unitID) }
    summary = Self.summarize(self.units)
    let rows = OperatingPointRow.summarize(self.units)
    operatingPoints = rows.isEmpty ? nil : rows
  }

  /// Means over units per bench and method, with a t-based 95% interval of the headline.
  public static func summarize(_ units: [UnitResult]) -> [SummaryRow] {
    struct Key: Hashable, Comparable {
      var bench: Benchmark
      var method: String
      var trained: Bool
      var withInstruction: Bool
      var label: String { MethodLabel.text(method, trainedAlphaFraction: trained ? 1 : nil, withInstruction: withInstruction) }
      // In the order of the labels, as schema 1 sorted them.
      static func < (a: Key, b: Key) -> Bool { (a.bench, a.label) < (b.bench, b.label) }
    }
    var groups: [Key: [ScoreSummary]] = [:]
    var order: [Key] = []
    for u in units {
      for m in u.methods {
        let key = Key(bench: u.bench, method: m.method, trained: m.trained, withInstruction: m.withInstruction)
        if groups[key] == nil { order.append(key) }
        groups[key, default: []].append(m.score)
      }
    }
    return order.sorted().map { key in
      let s = groups[key]!
      return SummaryRow(
        bench: key.bench, method: key.method, trained: key.trained, withInstruction: key.withInstruction, nUnits: s.count, scores: .mean(s.map(\.scores)), ci95: Statistics.ci95(s.map(\.headline)))
    }
  }

  public func write(to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  public static func load(_ path: String) throws -> BenchResults {
    guard let data = FileManager.default.contents(atPath: path) else { throw CompareError.unreadable(path) }
    do { return try JSONDecoder().decode(BenchResults.self, from: data) } catch {
      throw CompareError.malformed(path: path, reason: describeDecodingFailure(error))
    }
  }
}

public enum Statistics {
  /// Half-width of a 95% t-interval of the mean; 0 for fewer than two values.
  public static func ci95(_ values: [Double]) -> Double {
    let n = values.count
    guard n > 1 else { return 0 }
    let mean = values.reduce(0, +) / Double(n)
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
    return tQuantile975(degreesOfFreedom: n - 1) * (variance / Double(n)).squareRoot()
  }

  /// The 97.5% quantile of Student's t: tabulated to 30 degrees of freedom, then
  /// 1.96 + 2.4/df, which is within 0.003 of the exact value from there on.
  public static func tQuantile975(degreesOfFreedom df: Int) -> Double {
    let table: [Double] = [
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
      2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ]
    precondition(df >= 1, "t needs at least one degree of freedom")
    return df <= table.count ? table[df - 1] : 1.96 + 2.4 / Double(df)
  }
}

public enum CompareError: Error, CustomStringConvertible, Equatable {
  case unreadable(String)
  case malformed(path: String, reason: String)
  case invalid(String)

  public var description: String {
    switch self {
    case .unreadable(let path): "cannot read \(path)"
    case .malformed(let path, let reason): "\(path) is not a valid results file: \(reason)"
    case .invalid(let why): why
    }
  }
}
