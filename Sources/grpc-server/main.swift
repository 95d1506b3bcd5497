import Foundation
import Server

// Memory freed after a burst of deployments goes back to one pool (see MemoryRelease).
MemoryRelease.limitArenas()

let code = await ServerCommand.main(arguments: Array(CommandLine.arguments.dropFirst()),
                                    environment: ProcessInfo.processInfo.environment)
exit(code)
