import{cp as i}from"./index-Du7avV7c.js";const n=o=>["",...i].includes(o);export{n as i};
