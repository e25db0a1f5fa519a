/**
 * One id for each path parameter the API has. Suites that walk every route of the OpenAPI document
 * (the isolation matrix, the fuzzer) fill the templates from one of these, so a new parameter is
 * taught here once.
 */
export interface PathIds {
  task_id: string;
  step_id: string;
  token_id: string;
  agent_id: string;
  assignment_id: string;
  session_id: string;
  /** Pet routes take `me` or the user's own id. */
  user_id: string;
  pet_id: string;
  template_id: string;
  notification_id: string;
  /** An Expo device registered for push. */
  device_id: string;
  webhook_id: string;
  /** A delivery of that webhook (its `webhook-id`). */
  delivery_id: string;
  /** A REST hook subscription. */
  hook_id: string;
  /** A shared moment (social). */
  share_id: string;
  /** An uploaded file's import (a preview). */
  import_id: string;
  /** An account export job. */
  export_id: string;
  /** A focus room the user is a member of. */
  room_id: string;
}

/** "/api/v1/tasks/{task_id}" with the task id of `ids`; throws for a parameter PathIds does not know. */
export function fillPath(template: string, ids: PathIds): string {
  // Picked one by one: a caller's ids may carry more than path parameters (a second task, a refresh token).
  const values: Record<string, string> = {
    task_id: ids.task_id,
    // A project is a task (tagged `project`): the original API's path names it by its task id.
    project_id: ids.task_id,
    step_id: ids.step_id,
    token_id: ids.token_id,
    agent_id: ids.agent_id,
    assignment_id: ids.assignment_id,
    session_id: ids.session_id,
    user_id: ids.user_id,
    pet_id: ids.pet_id,
    template_id: ids.template_id,
    notification_id: ids.notification_id,
    device_id: ids.device_id,
    webhook_id: ids.webhook_id,
    delivery_id: ids.delivery_id,
    hook_id: ids.hook_id,
    share_id: ids.share_id,
    import_id: ids.import_id,
    export_id: ids.export_id,
    room_id: ids.room_id,
  };
  return template.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new Error(
        `No id to fill {${name}} in ${template}: teach PathIds (tests/helpers/path-ids.ts) about it`,
      );
    }
    return value;
  });
}
