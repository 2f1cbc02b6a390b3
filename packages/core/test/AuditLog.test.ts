import * as AuditLog from "../src/AuditLog.ts"
import * as AuditLogSuite from "../src/testing/AuditLogSuite.ts"

AuditLogSuite.suite("AuditLog.layerMemory", AuditLog.layerMemory())
