import { durableName } from '@warden/messaging';
import { describe, expect, it } from 'vitest';
import { isNatsAuthError } from './nats-auth.errors.js';
import {
  AGENT_ID_TEMPLATE,
  agentPermissions,
  agentPermissionsTemplate,
  bootstrapPermissions,
  cliPermissions,
  SERVICE_PROFILES,
  serviceDurableNames,
  servicePermissions,
  WARDEN_SERVICES,
} from './permissions.js';

const allPrincipals = () => [
  agentPermissions('prod', 'alice'),
  bootstrapPermissions('prod'),
  cliPermissions('prod'),
  ...WARDEN_SERVICES.map((service) => servicePermissions('prod', service)),
];

describe('agentPermissions', () => {
  it('grants exactly its own events, the token and release APIs and consumers of its own outcomes', () => {
    expect(agentPermissions('prod', 'alice')).toEqual({
      inboxPrefix: '_INBOX_agent_.alice',
      pub: {
        allow: [
          'warden.prod.evt.intent.proposed.alice',
          'warden.prod.evt.run.started.alice',
          'warden.prod.evt.run.ended.alice',
          'warden.prod.evt.model.requested.alice',
          'warden.prod.evt.model.usage.alice',
          'warden.prod.evt.trace.span.alice',
          'warden.prod.api.identity.token',
          'warden.prod.api.policy.release-assign',
          '$JS.API.CONSUMER.CREATE.WARDEN_PROD.*.warden.prod.evt.intent.resolved.alice',
          '$JS.API.CONSUMER.CREATE.WARDEN_PROD.*.warden.prod.evt.approval.requested.alice',
          '$JS.API.CONSUMER.CREATE.WARDEN_PROD.*.warden.prod.evt.model.routed.alice',
        ],
        deny: serviceDurableNames().map(
          (durable) => `$JS.API.CONSUMER.CREATE.WARDEN_PROD.${durable}.>`,
        ),
      },
      sub: {
        allow: [
          '_INBOX_agent_.alice.>',
          'warden.prod.evt.intent.resolved.alice',
          'warden.prod.evt.approval.requested.alice',
          'warden.prod.evt.model.routed.alice',
        ],
        deny: [],
      },
    });
  });

  it('gives no pull, info, delete or stream-read grant (they cannot be confined to its consumers)', () => {
    const { pub } = agentPermissions('prod', 'alice');
    for (const forbidden of ['MSG.NEXT', 'CONSUMER.INFO', 'CONSUMER.DELETE', 'MSG.GET', 'DIRECT']) {
      expect(pub.allow.filter((subject) => subject.includes(forbidden))).toEqual([]);
    }
  });

  it('refuses an agent id or env that is not a subject token', () => {
    for (const [env, agent] of [
      ['prod', 'a.b'],
      ['prod', '*'],
      ['prod', '>'],
      ['prod', 'Alice'],
      ['pr od', 'alice'],
    ] as const) {
      expect(() => agentPermissions(env, agent)).toThrow();
      try {
        agentPermissions(env, agent);
      } catch (error) {
        expect(isNatsAuthError(error, 'invalid_name')).toBe(true);
      }
    }
  });

  it('keeps an agent named like a service or the bootstrap user out of their inboxes', () => {
    expect(agentPermissions('prod', 'policy-decision').inboxPrefix).not.toBe(
      servicePermissions('prod', 'policy-decision').inboxPrefix,
    );
    expect(agentPermissions('prod', 'bootstrap').inboxPrefix).not.toBe(
      bootstrapPermissions('prod').inboxPrefix,
    );
  });
});

describe('agentPermissionsTemplate', () => {
  it('is agentPermissions with the template in place of the id, as whole tokens only', () => {
    const template = agentPermissionsTemplate('prod');
    // nats-server 2.9 expands `{{tag(agent)}}` only as a whole token: never inside one.
    const all = [
      template.inboxPrefix,
      ...template.pub.allow,
      ...template.pub.deny,
      ...template.sub.allow,
      ...template.sub.deny,
    ];
    for (const subject of all) {
      for (const token of subject.split('.')) {
        if (token.includes('{{')) expect(token).toBe(AGENT_ID_TEMPLATE);
      }
    }
    // The inbox prefix, six events, three consumer creates, the inbox and three read subscriptions.
    expect(all.filter((subject) => subject.includes(AGENT_ID_TEMPLATE))).toHaveLength(14);
    // What the server does with a user tagged `agent:<id>`: the same grants as agentPermissions.
    for (const agent of ['alice', 'policy-decision', 'agent-id-template-probe-1']) {
      const filled = JSON.parse(
        JSON.stringify(template).replaceAll(AGENT_ID_TEMPLATE, agent),
      ) as unknown;
      expect(filled).toEqual(agentPermissions('prod', agent));
    }
  });
});

describe('servicePermissions', () => {
  it('names durables as consumeEvents does', () => {
    for (const service of WARDEN_SERVICES) {
      for (const grant of SERVICE_PROFILES[service].consumes) {
        if (grant.eventType === '*') continue;
        expect(grant.durable).toBe(durableName(service, grant.eventType));
      }
    }
  });

  it('lets only policy-decision publish policy.decided', () => {
    const publishers = WARDEN_SERVICES.filter((service) =>
      servicePermissions('prod', service).pub.allow.includes('warden.prod.evt.policy.decided.*'),
    );
    expect(publishers).toEqual(['policy-decision']);
    for (const principal of allPrincipals()) {
      if (principal.inboxPrefix === '_INBOX_svc_policy-decision') continue;
      const events = principal.pub.allow.filter((subject) => subject.startsWith('warden.'));
      expect(events.some((subject) => subject.includes('.policy.decided.'))).toBe(false);
    }
  });

  it('pins each durable to its filter and lets a service pull only its own durables', () => {
    const { pub } = servicePermissions('prod', 'cost-governor');
    expect(pub.allow).toContain(
      '$JS.API.CONSUMER.CREATE.WARDEN_PROD.cost-governor__policy_decided.warden.prod.evt.policy.decided.*',
    );
    const pulls = pub.allow.filter((subject) =>
      subject.startsWith('$JS.API.CONSUMER.MSG.NEXT.WARDEN_PROD.'),
    );
    expect(pulls.every((subject) => subject.includes('.cost-governor__'))).toBe(true);
    expect(
      pub.allow.some((subject) => subject.includes('>') && subject.includes('WARDEN_PROD.*')),
    ).toBe(false);
  });

  it('lets the identity broker read back its registry events, but no other service durable', () => {
    const { pub } = servicePermissions('prod', 'identity-broker');
    expect(pub.allow).toContain(
      '$JS.API.CONSUMER.CREATE.WARDEN_PROD.*.warden.prod.evt.agent.registered.*',
    );
    expect(pub.allow).toContain('$JS.API.CONSUMER.MSG.NEXT.WARDEN_PROD.*');
    const others = serviceDurableNames().filter((name) => !name.startsWith('identity-broker__'));
    for (const durable of others) {
      expect(pub.deny).toContain(`$JS.API.CONSUMER.MSG.NEXT.WARDEN_PROD.${durable}`);
      expect(pub.deny).toContain(`$JS.API.CONSUMER.CREATE.WARDEN_PROD.${durable}.>`);
    }
    expect(pub.deny.some((subject) => subject.includes('identity-broker__'))).toBe(false);
    // Services that replay nothing keep the narrow grants.
    expect(servicePermissions('prod', 'cost-governor').pub.deny).toEqual([]);
  });

  it('lets the policy service replay its registries and verify human tokens, nothing more', () => {
    const { pub } = servicePermissions('prod', 'policy-decision');
    expect(pub.allow).toContain(
      '$JS.API.CONSUMER.CREATE.WARDEN_PROD.*.warden.prod.evt.policy.published.*',
    );
    expect(pub.allow).toContain('warden.prod.api.identity.human-introspect');
    expect(pub.allow.filter((subject) => subject.startsWith('warden.prod.api.'))).toEqual([
      'warden.prod.api.identity.human-introspect',
    ]);
  });

  it("lets only the tool executor request tool services, and only its env's", () => {
    for (const principal of allPrincipals()) {
      const tools = principal.pub.allow.filter((subject) => subject.startsWith('tools.'));
      expect(tools).toEqual(
        principal.inboxPrefix === '_INBOX_svc_tool-executor' ? ['tools.prod.>'] : [],
      );
      expect(principal.sub.allow.some((subject) => subject.startsWith('tools.'))).toBe(false);
    }
    expect(servicePermissions('staging', 'tool-executor').pub.allow).toContain('tools.staging.>');
  });

  it('subscribes only to its own inbox and its own API', () => {
    expect(servicePermissions('prod', 'identity-broker').sub.allow).toEqual([
      '_INBOX_svc_identity-broker.>',
      'warden.prod.api.identity.*',
    ]);
  });

  it('answers requests with allow_responses instead of a grant on callers inboxes', () => {
    for (const service of WARDEN_SERVICES) {
      const permissions = servicePermissions('prod', service);
      expect(permissions.responses).toEqual({ max: 1, ttlMs: 120_000 });
      expect(permissions.pub.allow.some((subject) => subject.startsWith('_INBOX'))).toBe(false);
    }
  });
});

describe('every principal', () => {
  it('subscribes under its own inbox prefix and nobody else can', () => {
    const principals = allPrincipals();
    for (const principal of principals) {
      expect(principal.sub.allow).toContain(`${principal.inboxPrefix}.>`);
      for (const other of principals) {
        if (other === principal) continue;
        expect(other.sub.allow).not.toContain(`${principal.inboxPrefix}.>`);
      }
      expect(principal.sub.allow).not.toContain('>');
      expect(principal.sub.allow).not.toContain('_INBOX.>');
    }
  });
});
