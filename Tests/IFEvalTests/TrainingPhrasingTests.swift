import IFEval
import LM
import TestSupport
import XCTest

/// The benchmark's training instructions: kwargs drawn within IFEval's ranges, and wordings that
/// keep the kwargs they were given.
final class TrainingPhrasingTests: XCTestCase {

  func testDrawsStayWithinIFEvalsRangesAndCoverThem() throws {
    var g = SeededGenerator(seed: 11)
    var bullets = Set<String>(), languages = Set<String>(), endings = Set<String>()
    for _ in 0..<400 {
      let b = try XCTUnwrap(InstructionID.numberBulletLists.draw(using: &g)).phrasing
      bullets.insert(String(b.split(separator: " ")[5]))
      let l = try XCTUnwrap(InstructionID.responseLanguage.draw(using: &g)).phrasing
      languages.insert(l)
      let e = try XCTUnwrap(InstructionID.endChecker.draw(using: &g)).phrasing
      endings.insert(e)
    }
    XCTAssertEqual(bullets, ["1", "2", "3", "4", "5"], "random.randint(1, _NUM_BULLETS)")
    XCTAssertEqual(languages.count, 30, "every language of LANGUAGE_CODES")
    XCTAssertEqual(endings.count, 2, "_ENDING_OPTIONS")
    XCTAssertNil(InstructionID.keywordsExistence.draw(using: &g), "outside the format subset: the benchmark's own kwargs")
  }

  func testEveryFormatIDHasThreeWordingsWithItsKwargs() throws {
    var g = SeededGenerator(seed: 3)
    for id in InstructionID.drawable.sorted(by: { $0.rawValue < $1.rawValue }) {
      let instruction = try XCTUnwrap(id.draw(using: &g), id.rawValue)
      let wordings = instruction.phrasings
      XCTAssertEqual(wordings.count, 3, id.rawValue)
      XCTAssertEqual(wordings.first, instruction.phrasing, "IFEval's own wording first")
      XCTAssertEqual(Set(wordings).count, 3, "\(id.rawValue): distinct wordings")
      XCTAssertFalse(wordings.contains { $0.contains("()") || $0.hasSuffix(" .") }, "\(id.rawValue): an empty kwarg in \(wordings)")
    }
    let bullets = try Instruction(id: "detectable_format:number_bullet_lists", kwargs: ["num_bullets": .number(4)])
    XCTAssertTrue(bullets.phrasings.allSatisfy { $0.contains("4") }, "each wording carries the kwargs: \(bullets.phrasings)")
    let sections = try Instruction(
      id: "detectable_format:multiple_sections", kwargs: ["num_sections": .number(3), "section_spliter": .string("SECTION")])
    XCTAssertTrue(sections.phrasings.allSatisfy { $0.contains("3") && $0.contains("SECTION") }, "\(sections.phrasings)")
    let language = try Instruction(id: "language:response_language", kwargs: ["language": .string("sw")])
    XCTAssertTrue(language.phrasings.allSatisfy { $0.contains("Swahili") }, "\(language.phrasings)")
    XCTAssertEqual(try Instruction(id: "keywords:existence", kwargs: ["keywords": .array([.string("fox")])]).phrasings.count, 1)
  }

  func testTheSameSeedDrawsTheSameInstructions() throws {
    func draws(_ seed: UInt64) -> [String] {
      var g = SeededGenerator(seed: seed)
      return InstructionID.drawable.sorted { $0.rawValue < $1.rawValue }.compactMap { $0.draw(using: &g)?.phrasing }
    }
    XCTAssertEqual(draws(5), draws(5))
  }
}
