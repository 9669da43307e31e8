import { knowledgeConformance } from "@clawfleet/core/testing"
import { Knowledge } from "../src/knowledge/Knowledge.ts"

knowledgeConformance("memory", Knowledge.layerMemory)
