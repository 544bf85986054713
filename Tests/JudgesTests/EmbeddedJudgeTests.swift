import Embedding
import Foundation
import Judges
import LM
import TestSupport
import XCTest

/// The embedded judge's separation on held-out labelled data, as `compare calibrate` measures it.
final class EmbeddedJudgeTests: XCTestCase {
  nonisolated(unsafe) static var calibrator: Calibrator?

  private func calibrator() throws -> Calibrator {
    if let c = Self.calibrator { return c }
    let encoder = try SentenceEncoder(directory: Fixtures.packageRoot.appendingPathComponent("models/all-minilm-l6-v2").path)
    let c = Calibrator(
      encoder: encoder, model: try Fixtures.model(), dataDirectory: Fixtures.packageRoot.appendingPathComponent("experiments/data").path)
    Self.calibrator = c
    return c
  }

  func testConceptJudgeSeparatesHeldOutPositivesFromNegatives() throws {
    let eval = try calibrator().conceptScores("axbench/concept10_2b_l20_eval.jsonl")
    XCTAssertEqual(eval.positives.count, 360)
    let auroc = ROC.auroc(positives: eval.positives, negatives: eval.negatives)
    let hard = ROC.auroc(positives: eval.positives, negatives: eval.hard)
    print("concept AUROC \(auroc), vs hard negatives \(hard)")
    XCTAssertGreaterThanOrEqual(auroc, 0.85)
    XCTAssertGreaterThan(hard, 0.5)
  }

  func testInstructionRelevanceSeparatesMatchedFromShuffledPairs() throws {
    let alpaca = try BenchmarkData.alpaca(
      Fixtures.packageRoot.appendingPathComponent("experiments/data/alpaca_eval/gpt4_outputs.jsonl").path)
    let held = try calibrator().instructScores(Array(alpaca.dropFirst(400)))
    let auroc = ROC.auroc(positives: held.matched, negatives: held.shuffled)
    print("instruction relevance AUROC \(auroc)")
    XCTAssertGreaterThanOrEqual(auroc, 0.9)
  }

  func testCommittedCalibrationScoresOnAxBenchScale() throws {
    let calibration = try JudgeCalibration.load(Fixtures.packageRoot.appendingPathComponent("judges/calibration.json").path)
    XCTAssertGreaterThanOrEqual(calibration.metrics["concept_auroc_eval"]!, 0.85)
    let c = try calibrator()
    let judge = EmbeddedJudge(encoder: c.judge.encoder, model: c.judge.model, calibration: calibration)
    let scores = try judge.score([
      AxBenchItem(
        instruction: "Where can I get a tent for my trip?",
        response: "You can rent camping equipment such as tents and sleeping bags from a rental shop near the park.",
        concept: "references to rental services and associated equipment"),
      AxBenchItem(
        instruction: "Where can I get a tent for my trip?", response: "tent tent tent tent tent tent tent tent tent tent tent tent",
        concept: "terms related to root in mathematical contexts"),
    ])
    XCTAssertGreaterThan(scores[0].concept, scores[1].concept)
    XCTAssertGreaterThan(scores[0].fluency, scores[1].fluency)
    XCTAssertGreaterThan(scores[0].harmonic, 0)
    XCTAssertEqual(scores[1].harmonic, AxBenchScores.harmonicMean([scores[1].concept, scores[1].instruct, scores[1].fluency]))
  }

  func testHarmonicMeanIsZeroWhenAnyScoreIsZero() {
    XCTAssertEqual(AxBenchScores(concept: 2, instruct: 0, fluency: 2).harmonic, 0)
    XCTAssertEqual(AxBenchScores(concept: 2, instruct: 2, fluency: 2).harmonic, 2, accuracy: 1e-12)
    XCTAssertEqual(AxBenchScores(concept: 1, instruct: 2, fluency: 2).harmonic, 3 / (1 + 0.5 + 0.5), accuracy: 1e-12)
  }

  func testROC() {
    XCTAssertEqual(ROC.auroc(positives: [3, 4], negatives: [1, 2]), 1)
    XCTAssertEqual(ROC.auroc(positives: [1, 2], negatives: [3, 4]), 0)
    XCTAssertEqual(ROC.auroc(positives: [1], negatives: [1]), 0.5)
  }
}
