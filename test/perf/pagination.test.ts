// The provider's own list walks against the emulator, with more than 500 objects: it reads at the maximum page
// size (500) and stops at the page that holds its answer; only a miss reads every page. Reconciling a lost
// deploy reads only the pages of the attempt's window.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { dynamiqClient } from "../../provider/clients/dynamiq";
import { MAX_PAGE_SIZE, findInPages } from "../../provider/pagination";
import { reconcileLog } from "../../provider/reconcile";
import { serviceDeployment } from "../../provider/resources/service-deployment";
import { arm, contextOf, records } from "../reliability/support";
import { adminCall, emulator, requests, resetRequests, setEnv } from "../support";

const KEYS = 1_100; // three pages of 500
let emu: Emulator;
let client: ReturnType<typeof dynamiqClient>;

beforeAll(async () => {
  emu = await emulator();
  client = dynamiqClient(
    {},
    { platform: "dynamiq", baseUrl: emu.dynamiq.baseUrl, credential: emu.dynamiq.userPat },
  );
  const orgId = emu.dynamiq.orgId;
  for (let i = 0; i < KEYS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, KEYS - i) }, (_, j) =>
        client.createAccessKey({ name: `page-key-${String(i + j).padStart(4, "0")}`, org_id: orgId }),
      ),
    );
  }
});
afterAll(async () => {
  await emu?.close();
});

describe(`list walks over ${KEYS} access keys`, () => {
  const walk = async (name: string) => {
    const pages: Array<[number, number]> = [];
    await resetRequests(emu);
    const found = await findInPages(
      (page, pageSize) => {
        pages.push([page, pageSize]);
        return client.listAccessKeys({ org_id: emu.dynamiq.orgId, page, page_size: pageSize });
      },
      (k) => k.name === name,
    );
    const { routes, total } = await requests(emu);
    return { found, pages, calls: routes["GET /v1/access-keys"], total };
  };

  it("reads 500 at a time and stops at the page holding the answer", async () => {
    const first = await walk("page-key-0100");
    expect(first.found?.name).toBe("page-key-0100");
    expect(first.pages).toEqual([[1, MAX_PAGE_SIZE]]);
    expect(first.calls).toBe(1);
    expect(first.total).toBe(1);

    const second = await walk("page-key-0700");
    expect(second.found?.name).toBe("page-key-0700");
    expect(second.pages).toEqual([
      [1, MAX_PAGE_SIZE],
      [2, MAX_PAGE_SIZE],
    ]);
    expect(second.calls).toBe(2);
  });

  it("a miss reads every page once and no more", async () => {
    const miss = await walk("no-such-key");
    expect(miss.found).toBeUndefined();
    expect(miss.pages.map(([p]) => p)).toEqual([1, 2, 3]);
    expect(miss.calls).toBe(3);
    expect(miss.total).toBe(3);
  });
});

describe("reconciling a lost deploy on a service with 600 deployments", () => {
  it("reads only the newest page: deployments are listed newest first and older ones cannot be the lost one", async () => {
    const service = await adminCall<{ id: string }>(emu, "POST", "services", {
      name: "many-deploys",
    });
    for (let i = 0; i < 600; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          client.deploy(service.id, { image: `registry.example.com/old:${i + j}`, env: [] }, []),
        ),
      );
    }
    // Yesterday's deployments: outside any attempt's window.
    for (const d of await records<{ id: string; service_id: string }>(emu, "deployment"))
      if (d.service_id === service.id)
        await adminCall(emu, "POST", "age", { kind: "deployment", id: d.id, days: 1 });

    const journal = process.env.DYNAMIQ_PROVIDER_JOURNAL;
    process.env.DYNAMIQ_PROVIDER_JOURNAL = "off";
    try {
      // The deploy is made, and its answer lost: the provider must find it rather than deploy again.
      await arm(emu, { route: "POST /v1/services/:id/deploy", kind: "commit_drop", times: 1 });
      await resetRequests(emu);
      const logged = reconcileLog.length;
      const r = await serviceDeployment.create(contextOf(emu), {
        serviceId: service.id,
        image: "registry.example.com/app:new",
        env: { LOG_LEVEL: "info" },
        timeoutSeconds: 30,
      });
      const { routes } = await requests(emu);
      expect(routes["POST /v1/services/:id/deploy"]).toBe(1);
      expect(routes["GET /v1/services/:id/deployments"]).toBe(1);
      expect(reconcileLog.slice(logged)).toEqual([
        expect.objectContaining({ kind: "deployment", action: "adopted", id: r.id }),
      ]);
      const mine = (await records<{ image: string; service_id: string }>(emu, "deployment")).filter(
        (d) => d.service_id === service.id && d.image === "registry.example.com/app:new",
      );
      expect(mine).toHaveLength(1);
    } finally {
      setEnv("DYNAMIQ_PROVIDER_JOURNAL", journal);
    }
  });
});
