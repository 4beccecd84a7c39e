import{cp as i}from"./index-DCEO6A6m.js";const n=o=>["",...i].includes(o);export{n as i};
