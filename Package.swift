// swift-tools-version:6.0
import PackageDescription

/// No unsafe flags anywhere, so that other packages can depend on this one by URL: the kernels'
/// speed without `-O3` and `-Ounchecked` was measured equal (experiments/bench, 2026-12-06).
let optimize: [SwiftSetting] = []
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
  name: "PSRSteering",
  products: [
    .executable(name: "psr", targets: ["PSRCLI"]),
    .executable(name: "capture", targets: ["CaptureCLI"]),
    .executable(name: "compare", targets: ["CompareCLI"]),
    .library(name: "LM", targets: ["LM"]),
    .library(name: "Steering", targets: ["Steering"]),
    .library(name: "Store", targets: ["Store"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
    .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
    .target(name: "CKernels"),
    .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimize),
    // The model code in three parts: files (GGUF, safetensors, the JSON reader, errors), tokenizers
    // and chat templates, and the decoder (families, configurations, forward and backward).
    .target(name: "ModelFiles", dependencies: ["Tensor"], swiftSettings: optimize),
    .target(name: "Tokenizers", dependencies: ["ModelFiles"], swiftSettings: optimize),
    // Its family registry lists what Sources/LM/Families declares (the FamilyList plugin), so a new
    // family is its file there and its tests.
    .target(
      name: "LM", dependencies: ["ModelFiles", "Tokenizers", "Tensor"], swiftSettings: optimize, plugins: ["FamilyList"]),
    .executableTarget(name: "FamilyListGenerator"),
    .plugin(name: "FamilyList", capability: .buildTool(), dependencies: ["FamilyListGenerator"]),
    .target(name: "Steering", dependencies: ["LM", "Tensor"], swiftSettings: optimize),
    .target(name: "Store", dependencies: ["CHDF5"], swiftSettings: optimize),
    .target(name: "Embedding", dependencies: ["LM", "Tensor"], swiftSettings: optimize),
    .target(name: "Judges", dependencies: ["CCurl", "Embedding", "LM"], swiftSettings: optimize),
    .target(
      name: "Compare", dependencies: ["Capture", "IFEval", "Judges", "LM", "PSR", "Steering", "Store"], swiftSettings: optimize),
    .target(name: "Capture", dependencies: ["LM", "Store"], swiftSettings: optimize),
    .target(name: "IFEval", resources: [.copy("Resources/langdetect")], swiftSettings: optimize),
    .target(name: "PSR", dependencies: ["LM", "Steering", "Store", "Tensor"], swiftSettings: optimize),
    .target(name: "Report", dependencies: ["Compare", "LM", "Steering", "Store"], swiftSettings: optimize),
    .target(
      name: "CLICommon", dependencies: ["LM", "Tensor", argumentParser],
      swiftSettings: optimize),
    // The commands are libraries (CLITests parses them with ArgumentParser's own `parse`); each
    // executable is one line that runs its command.
    .target(
      name: "CaptureCommands", dependencies: ["Capture", "CLICommon", "LM", "Store", argumentParser],
      swiftSettings: optimize),
    .target(
      name: "PSRCommands",
      dependencies: [
        "CLICommon", "Capture", "Embedding", "Judges", "LM", "PSR", "Report", "Steering", "Store", "Tensor", argumentParser,
      ],
      swiftSettings: optimize),
    .target(
      name: "CompareCommands",
      dependencies: [
        "CLICommon", "Capture", "Compare", "Embedding", "IFEval", "Judges", "LM", "PSR", "Report", "Steering", "Store",
        argumentParser,
      ],
      swiftSettings: optimize),
    .executableTarget(name: "CaptureCLI", dependencies: ["CaptureCommands"]),
    .executableTarget(name: "PSRCLI", dependencies: ["PSRCommands"]),
    .executableTarget(name: "CompareCLI", dependencies: ["CompareCommands"]),
    .target(name: "TestSupport", dependencies: ["LM"], path: "Tests/TestSupport"),
    .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
    .testTarget(name: "CLICommonTests", dependencies: ["CLICommon"]),
    .testTarget(name: "LMTests", dependencies: ["LM", "Steering", "Tensor", "TestSupport"]),
    .testTarget(name: "SteeringTests", dependencies: ["Steering", "LM", "Tensor", "TestSupport"]),
    .testTarget(name: "StoreTests", dependencies: ["Store", "CHDF5", "TestSupport"]),
    .testTarget(
      name: "CLITests",
      dependencies: [
        "Capture", "CaptureCommands", "CLICommon", "Compare", "CompareCommands", "IFEval", "LM", "PSRCommands", "Steering", "Store",
        "TestSupport",
      ]),
    .testTarget(name: "EmbeddingTests", dependencies: ["Embedding", "LM", "TestSupport"]),
    .testTarget(name: "CompareTests", dependencies: ["Compare", "IFEval", "Judges", "Embedding", "LM", "Store", "TestSupport"]),
    .testTarget(name: "JudgesTests", dependencies: ["Judges", "Embedding", "LM", "TestSupport"]),
    .testTarget(name: "CaptureTests", dependencies: ["Capture", "Store", "LM", "TestSupport"]),
    .testTarget(name: "ReportTests", dependencies: ["Report", "Compare", "Steering", "Store", "LM", "TestSupport"]),
    .testTarget(name: "PSRTests", dependencies: ["PSR", "Capture", "Steering", "Store", "LM", "TestSupport"]),
    .testTarget(name: "IFEvalTests", dependencies: ["IFEval", "LM", "TestSupport"]),
    .testTarget(
      name: "PropertyTests", dependencies: ["CLICommon", "Capture", "Compare", "LM", "Steering", "Store", "TestSupport", "Tokenizers"]),
  ],
  swiftLanguageModes: [.v6]
)
