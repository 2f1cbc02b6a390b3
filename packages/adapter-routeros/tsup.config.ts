import { packageConfig } from "../../tsup.shared.ts"

export default packageConfig()
