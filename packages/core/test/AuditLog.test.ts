import * as AuditLog from "../src/AuditLog.ts"
import * as AuditLogSuite from "../src/suites/AuditLogSuite.ts"

AuditLogSuite.suite("AuditLog.layerMemory", AuditLog.layerMemory())
