/**
 * `@warden/support-triage`: the reference workflow of issue 8 — the triage agent (written with
 * `@warden/sdk`), its rules, the scenarios the demo and the end-to-end tests run, and what the
 * reference deployment registers (agent, people, tools, policies, budgets).
 */
export {
  AGENT_VERSION,
  APPROVER,
  EXAMPLE_DIR,
  HELPDESK_SECRET_REF,
  POLICIES_DIR,
  REFERENCE_BUDGETS,
  REFERENCE_HUMANS,
  TOOLS_DIR,
  TRIAGE_AGENT,
  WORKFLOW,
} from './reference.js';
export {
  describe as describeStep,
  runScenario,
  SCENARIO_NAMES,
  SCENARIOS,
  type PendingApproval,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
} from './scenarios.js';
export { ModelClassifier, RULES, type Classifier, type ModelRun } from './model-classifier.js';
export { Ticket } from './ticket.js';
export { TriageAgent, type Step, type StepStatus } from './triage-agent.js';
export { decide, type TicketAction, type TicketPatch } from './triage-rules.js';
