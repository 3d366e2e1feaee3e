/** RBAC kinds the operator writes (the runtime's table has the kinds every controller uses). */
import { resourceType } from '../../runtime/index.js';

const rbac = (plural: string, kind: string, namespaced: boolean) =>
  resourceType({ group: 'rbac.authorization.k8s.io', version: 'v1', plural, kind, namespaced });

export const Roles = rbac('roles', 'Role', true);
export const RoleBindings = rbac('rolebindings', 'RoleBinding', true);
export const ClusterRoles = rbac('clusterroles', 'ClusterRole', false);
export const ClusterRoleBindings = rbac('clusterrolebindings', 'ClusterRoleBinding', false);
