export { Connection, type ConnectionArgs } from "./connection";
