// The phone app's main calls, written against the generated types (clients/generated/harbour.d.ts)
// and type-checked by tsc in CI (.ci/clients): if the document loses a type the app relies on,
// this stops compiling.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/harbour";

type Client = ReturnType<typeof createClient<paths>>;

async function syncPage(client: Client, cursor: string | undefined) {
  return client.GET("/api/v1/sync", { params: { query: { cursor } } });
}
// A change as openapi-fetch decodes it (its Readable<> drops `data: null` from tombstones).
type SyncChange = NonNullable<Awaited<ReturnType<typeof syncPage>>["data"]>["changes"][number];
export type Problem = components["schemas"]["Problem"];

export async function signIn(baseUrl: string, username: string, password: string) {
  const client = createClient<paths>({ baseUrl });
  const { data, error } = await client.POST("/api/v1/auth/token", {
    body: { grant_type: "password", username, password },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
  });
  if (error) throw new Error("error" in error ? error.error : error.type);
  const bearer: "bearer" = data.token_type;
  return { client, token: data.access_token, bearer };
}

/** Every change decodes into its own shape; a new `type` stops this compiling (never). */
export function describe(change: SyncChange): string {
  switch (change.type) {
    case "reflection":
      return `note ${change.data.title} v${change.data.version}`;
    case "wellbeing_checkin":
      return `my check-in ${change.data.taken_at}`;
    case "wellbeing_checkin_shared":
      return `check-in shared by ${change.data.owner_id}`;
    case "wellbeing_incident":
    case "wellbeing_incident_shared":
      return `incident ${change.id}`;
    case "wellbeing_talk_request":
    case "wellbeing_talk_request_to_me":
      return `talk request ${change.id}`;
    case "supervision_session":
      return `session ${change.data.status}, If-Match "${change.data.version}"`;
    case "supervision_action":
      return `action ${change.data.status}, If-Match "${change.data.version}"`;
    case "supervision_agreement":
      return `agreement v${change.data.version}`;
    case "supervision_group_session":
      return `group session v${change.data.version}`;
    case "notification":
      return `notification ${change.data.kind}`;
    case "tombstone":
      return `drop ${change.entity} ${change.id}`;
    default: {
      const unknown: never = change;
      return unknown;
    }
  }
}

export async function editNote(client: Client, id: string, version: number) {
  // If-Match is required by the type: leaving it out does not compile.
  const { data, error, response } = await client.PUT("/api/v1/reflections/{reflection_id}", {
    params: { path: { reflection_id: id }, header: { "If-Match": `"${version}"` } },
    body: { template: "free", title: "Edited", body: { text: "Now with more thought." } },
  });
  if (error) {
    if (error.type === "urn:harbour:problem:stale-etag") return null;
    throw new Error(error.detail ?? error.title);
  }
  return { note: data, etag: response.headers.get("ETag") };
}

export async function readFeed(baseUrl: string, token: string): Promise<SyncChange[]> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const changes: SyncChange[] = [];
  let cursor: string | undefined;
  for (;;) {
    const { data, error } = await syncPage(client, cursor);
    if (error) throw new Error(error.type);
    changes.push(...data.changes);
    cursor = data.next_cursor;
    if (!data.has_more) return changes;
  }
}

/** A check-in: the instrument is an enum, and each instrument's item ids are named types. */
export async function checkIn(client: Client, id: string) {
  const answers: components["schemas"]["PulseAnswers"] = { mood: 4, stress: 2, sleep: 3 };
  // @ts-expect-error an item the pulse does not have stops compiling
  const wrong: components["schemas"]["PulseAnswers"] = { mood: 4, moood: 2 };
  void wrong;
  const { data, error } = await client.POST("/api/v1/wellbeing/checkins", {
    body: { id, instrument: "pulse", answers },
  });
  if (error) throw new Error(error.type);
  return data.band;
}

/** Signs of Safety scaling is one integer type, in a reflection and in a case discussion. */
export function scalingOf(
  note: components["schemas"]["ReflectionPublic"],
  discussion: components["schemas"]["CaseDiscussionPublic"],
): [number | null | undefined, number | null] {
  return [note.body.scaling, discussion.scaling];
}
