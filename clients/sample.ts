// The phone app's main calls, written against the generated types (clients/generated/harbour.d.ts)
// and type-checked by tsc in CI (.ci/clients): if the document loses a type the app relies on,
// this stops compiling.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/harbour";

type SyncChange = components["schemas"]["SyncPage"]["changes"][number];

export async function signIn(baseUrl: string, username: string, password: string) {
  const client = createClient<paths>({ baseUrl });
  const { data, error } = await client.POST("/api/v1/auth/token", {
    body: { grant_type: "password", username, password },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
  });
  if (error) throw new Error(error.error);
  const bearer: "bearer" = data.token_type;
  return { client, token: data.access_token, bearer };
}

export async function readFeed(baseUrl: string, token: string): Promise<SyncChange[]> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const changes: SyncChange[] = [];
  let cursor: string | undefined;
  for (;;) {
    const { data, error } = await client.GET("/api/v1/sync", { params: { query: { cursor } } });
    if (error) throw new Error(error.type);
    changes.push(...data.changes);
    cursor = data.next_cursor;
    if (!data.has_more) return changes;
  }
}
