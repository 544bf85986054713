import CaptureCommands

CaptureCommand.main()
