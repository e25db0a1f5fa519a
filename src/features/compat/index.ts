import { createRouter } from "../../lib/create-app";
import { captureCompatRouter } from "./capture-routes";
import { delegationCompatRouter } from "./delegation-routes";
import { focusCompatRouter } from "./focus-routes";
import { microStepsCompatRouter } from "./micro-steps-routes";
import { onboardingCompatRouter } from "./onboarding-routes";
import { petsCompatRouter } from "./pets-routes";
import { profileCompatRouter } from "./profile-routes";
import { projectsCompatRouter } from "./projects-routes";

/**
 * The original system's clients (the Expo mobile app, the agents' scripts: ORIGINAL_CLIENTS.md), served
 * where their paths differ from ours. Each area's routes live in their own file and call the features'
 * services; nothing here bypasses authentication or scoping. Paths we share with the original stay in
 * their feature, which accepts the original's field names as documented alternatives.
 *
 * Mounted at /api/v1, before the feature routers.
 */
export const compatRouter = createRouter();
compatRouter.route("/", delegationCompatRouter);
compatRouter.route("/", projectsCompatRouter);
compatRouter.route("/", microStepsCompatRouter);
compatRouter.route("/", captureCompatRouter);
compatRouter.route("/", profileCompatRouter);
compatRouter.route("/", petsCompatRouter);
compatRouter.route("/", focusCompatRouter);
compatRouter.route("/", onboardingCompatRouter);

/**
 * The mobile app builds its onboarding URLs as `${API_BASE_URL}/api/v1/users/…` on a base that already
 * ends in /api/v1: those routes are served under the doubled prefix as well (mounted at /api/v1/api/v1).
 */
export const doubledPrefixRouter = createRouter();
doubledPrefixRouter.route("/", onboardingCompatRouter);
